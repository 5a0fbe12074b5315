-- CAS services and back-channel logout. The PostgreSQL twin of this file has the same numbering
-- and the same columns.

-- Applications that speak CAS, registered beside the OpenID Connect clients: which service
-- URLs they own (an exact URL, a prefix, or a regular expression matched whole), the user
-- attributes released to them (a JSON list of names), whether they may obtain proxy tickets,
-- whether every sign-in for them takes a second factor, and whether they are told of logouts
-- (single logout: a SAML LogoutRequest posted to the service URL a ticket was issued for).
create table cas_services (
    id text primary key,
    name text not null,
    pattern text not null,
    pattern_kind text not null,
    attributes text not null default '[]',
    allow_proxy integer not null default 0,
    require_mfa integer not null default 0,
    single_logout integer not null default 1,
    disabled integer not null default 0,
    created_at integer not null,
    updated_at integer not null
);

-- OpenID Connect Back-Channel Logout 1.0 §2.2: where the client receives logout tokens, and
-- whether it needs the sid claim in them.
alter table clients add column backchannel_logout_uri text;
alter table clients add column backchannel_logout_session_required integer not null default 0;
