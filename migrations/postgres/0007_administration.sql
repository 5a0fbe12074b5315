-- Administration: who administers what, and invitations. The SQLite twin of this file
-- has the same numbering and the same columns.

-- Global administrators: they manage everything (users, establishments, clients, CAS services,
-- the audit log).
create table administrators (
    user_id text primary key references users (id) on delete cascade,
    created_at bigint not null
);

-- An establishment administrator manages the members of that establishment and their rights.
alter table memberships add column admin bigint not null default 0;

-- An invitation: a single-use link (stored as its SHA-256) sent to an e-mail address, to create an
-- account or, for an address that already signs in, to accept a membership after signing in. With
-- no establishment and admin = 1 it makes a global administrator (the first administrator's
-- set-up link, printed rather than mailed: no address).
create table invitations (
    id text primary key,
    token_hash text not null unique,
    email text,
    given_name text,
    family_name text,
    establishment_id text references establishments (id) on delete cascade,
    rights text not null default '[]',
    admin bigint not null default 0,
    invited_by text,
    created_at bigint not null,
    expires_at bigint not null,
    accepted_at bigint,
    accepted_by text references users (id) on delete set null,
    revoked_at bigint
);

create index invitations_establishment_id on invitations (establishment_id);
