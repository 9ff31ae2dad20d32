-- An operator's own allowances for one account (`cloudcast admin quota`);
-- NULL keeps the configured one ([quotas]). Gone with the account.
CREATE TABLE user_quotas (
    user_id            uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    open_uploads       integer CHECK (open_uploads >= 0),
    storage_bytes      bigint CHECK (storage_bytes >= 0),
    daily_upload_bytes bigint CHECK (daily_upload_bytes >= 0),
    -- Who set them, when and why: the operator's account of it.
    set_by             text NOT NULL,
    reason             text NOT NULL,
    set_at             timestamptz NOT NULL DEFAULT now()
);

-- Today's uploads of one account, for the daily volume.
CREATE INDEX uploads_user_created ON uploads (user_id, created_at);
