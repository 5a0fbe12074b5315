-- Establishments and memberships. The SQLite twin of this file has the same numbering and the
-- same columns.

-- An establishment (a tenant: a university, a school, a partner): a short code, a name, and the
-- rights (roles) its members may hold, a JSON list of names.
create table establishments (
    id text primary key,
    code text not null unique,
    name text not null,
    rights text not null default '[]',
    created_at bigint not null,
    updated_at bigint not null
);

-- A user belongs to any number of establishments, with some of its rights in each.
create table memberships (
    user_id text not null references users (id) on delete cascade,
    establishment_id text not null references establishments (id) on delete cascade,
    rights text not null default '[]',
    created_at bigint not null,
    updated_at bigint not null,
    primary key (user_id, establishment_id)
);

create index memberships_establishment_id on memberships (establishment_id);
