-- Disabling a user ends their SSO sessions for good: sessions carry a stamp of the user's
-- credentials, and this time is part of it, so an enable does not bring old sessions back.
alter table users add column sessions_revoked_at integer;

-- Resource servers may introspect other clients' access tokens (RFC 7662 §4); other clients
-- only their own.
alter table clients add column introspect integer not null default 0;
