-- Password policy and self-service. The PostgreSQL twin of this file has the same numbering and
-- the same columns.

-- A user's previous password hashes (argon2id PHC strings), so that a new password can be
-- refused when it repeats a recent one. `seq` counts a user's passwords (1, 2, …): it
-- orders them even when two changes share a second, and with the user it is the key (which
-- also serves lookups by user). Only the last few are kept.
create table password_history (
    user_id text not null references users (id) on delete cascade,
    seq integer not null,
    hash text not null,
    created_at integer not null,
    primary key (user_id, seq)
);

-- What the activation and recovery flows record. The birth date (YYYY-MM-DD) proves who is
-- recovering an account: unlike `birthdate`, an OpenID Connect claim that clients may read,
-- it is released to no one.
alter table users add column birth_date text;
-- The security question, and the argon2id hash of the answer's normalised form.
alter table users add column security_question text;
alter table users add column security_answer_hash text;
-- The IT charter accepted, and when.
alter table users add column charter_version text;
alter table users add column charter_accepted_at integer;
-- The backup address (reset links go there) and the optional redirection of mail.
alter table users add column recovery_email text;
alter table users add column redirect_email text;

-- Personal numbers that identify a person in the recovery flow (student number, national
-- student ID, staff number, external UID…), normalised; one owner per kind and value.
create table user_personal_numbers (
    user_id text not null references users (id) on delete cascade,
    kind text not null,
    value_normalized text not null,
    primary key (kind, value_normalized)
);

create index user_personal_numbers_user_id on user_personal_numbers (user_id);
