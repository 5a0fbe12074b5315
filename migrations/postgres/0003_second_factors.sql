-- Second factors. The SQLite twin of this file has the same numbering and the same columns.

-- One factor of each kind per user: 'totp' (its secret sealed with the key of the keys
-- directory, so a copy of the database alone reveals none) or 'sms' (its E.164 number).
create table user_factors (
    user_id text not null references users (id) on delete cascade,
    kind text not null,
    phone text,
    secret text,
    created_at bigint not null,
    last_used_at bigint,
    primary key (user_id, kind)
);

-- Single-use recovery codes, stored as peppered digests; a new set replaces the old one.
create table recovery_codes (
    user_id text not null references users (id) on delete cascade,
    code_hash text not null,
    created_at bigint not null,
    used_at bigint,
    primary key (user_id, code_hash)
);

-- Every sign-in for this client takes a second factor.
alter table clients add column require_mfa bigint not null default 0;

-- The account page lists a user's recent sign-ins.
create index audit_events_user_id_at on audit_events (user_id, at);
