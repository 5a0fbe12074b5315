-- RFC 7591 dynamic client registration: a client registered at /register reads its own
-- registration back (OpenID Connect Registration 1.0 §4, RFC 7592 §2.1) with the registration
-- access token returned once; only its SHA-256 is kept. Null for clients an administrator
-- registered.
alter table clients add column registration_token_hash text;
