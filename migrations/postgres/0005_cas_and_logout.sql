-- CAS services and back-channel logout. The SQLite twin of this file has the same numbering
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
    allow_proxy bigint not null default 0,
    require_mfa bigint not null default 0,
    single_logout bigint not null default 1,
    disabled bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null
);

-- OpenID Connect Back-Channel Logout 1.0 §2.2: where the client receives logout tokens, and
-- whether it needs the sid claim in them.
alter table clients add column backchannel_logout_uri text;
alter table clients add column backchannel_logout_session_required bigint not null default 0;
