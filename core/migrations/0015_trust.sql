-- A sign-up is confirmed by the link mailed to its address before the
-- account can be used, so sign-up answers the same whether or not the
-- address has an account (no way to learn who is registered). Until then
-- the account is pending: it holds its username until `pending_until`
-- (24 hours), cannot sign in, is seen nowhere, and is deleted once the time
-- has passed unconfirmed. Accounts made before this were never pending.
ALTER TABLE users ADD COLUMN pending_until timestamptz;
CREATE INDEX users_pending_until ON users (pending_until) WHERE pending_until IS NOT NULL;

-- Avatars are made again as square JPEGs (accounts/src/profiles.rs); the
-- version names their objects. An avatar stored as uploaded, from before,
-- has none until it is made again, and is not served meanwhile.
ALTER TABLE profiles ADD COLUMN avatar_version uuid;
