-- Portable types: text ids (UUIDs), integer epoch seconds, integer 0/1 flags, JSON as text.
-- The PostgreSQL twin of this file has the same numbering and the same columns.

create table users (
    id text primary key,
    login text not null,
    name text,
    given_name text,
    family_name text,
    middle_name text,
    nickname text,
    email text,
    email_verified integer not null default 0,
    phone_number text,
    phone_number_verified integer not null default 0,
    -- OpenID Connect Core §5.1.1 address object, as JSON
    address text,
    birthdate text,
    locale text,
    zoneinfo text,
    picture text,
    website text,
    gender text,
    -- student, staff, external…: later issues hang policies on it
    category text,
    password_hash text,
    -- set for temporary passwords (activation, first-login change)
    must_change_password integer not null default 0,
    password_changed_at integer,
    disabled integer not null default 0,
    created_at integer not null,
    updated_at integer not null
);

-- Every name a user may sign in with (login, e-mail, student/staff number…), unique across all
-- users and kinds once trimmed, NFKC-normalised and lower-cased.
create table user_identifiers (
    normalized text primary key,
    user_id text not null references users (id) on delete cascade,
    kind text not null,
    value text not null,
    created_at integer not null
);
create index user_identifiers_user_id on user_identifiers (user_id);

create table clients (
    client_id text primary key,
    name text,
    -- SHA-256 of a 256-bit random secret; null for public clients
    secret_hash text,
    public integer not null default 0,
    redirect_uris text not null default '[]',
    post_logout_redirect_uris text not null default '[]',
    grant_types text not null default '[]',
    scopes text not null default '[]',
    first_party integer not null default 0,
    id_token_alg text not null default 'RS256',
    access_token_alg text not null default 'ES256',
    -- per-client lifetimes; null = the server's setting
    code_ttl integer,
    access_token_ttl integer,
    id_token_ttl integer,
    offline_ttl integer,
    disabled integer not null default 0,
    created_at integer not null,
    updated_at integer not null
);

-- One authorization of a client by a user; its refresh tokens rotate inside it.
create table grants (
    id text primary key,
    user_id text not null references users (id) on delete cascade,
    client_id text not null references clients (client_id) on delete cascade,
    scope text not null,
    sid text,
    auth_time integer not null,
    amr text not null default '[]',
    offline integer not null default 0,
    created_at integer not null,
    -- refresh tokens of a session-bound grant die with the session's absolute lifetime
    expires_at integer not null,
    revoked_at integer
);
create index grants_sid on grants (sid);
create index grants_user_id on grants (user_id);

create table refresh_tokens (
    token_hash text primary key,
    grant_id text not null references grants (id) on delete cascade,
    created_at integer not null,
    expires_at integer not null,
    used_at integer
);
create index refresh_tokens_grant_id on refresh_tokens (grant_id);

create table consents (
    user_id text not null references users (id) on delete cascade,
    client_id text not null references clients (client_id) on delete cascade,
    scopes text not null,
    granted_at integer not null,
    primary key (user_id, client_id)
);

create table audit_events (
    id text primary key,
    at integer not null,
    kind text not null,
    user_id text,
    client_id text,
    ip text,
    detail text
);
create index audit_events_at on audit_events (at);
