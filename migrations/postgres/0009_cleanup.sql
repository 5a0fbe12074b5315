-- The clean-up (`service::cleanup`) removes what has expired in small batches, each found by
-- its expiry. The SQLite twin of this file has the same numbering and the same indexes.

-- Dead grants are taken oldest first, in a stable order (the id breaks ties), so that the
-- statement removing a batch's refresh tokens and the one removing the batch see the same
-- grants, and a batch stops at its limit instead of sorting every dead grant.
create index grants_expires_at on grants (expires_at, id);
create index invitations_expires_at on invitations (expires_at);
