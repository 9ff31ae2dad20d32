//! The foundation every domain crate builds on, and the one home of the
//! rules they share:
//!
//! - `config/`: the configuration's layers and checks, and the sections
//!   every crate shares (each other crate owns its own);
//! - `error.rs`: error codes and the one JSON error body (`request_id.rs`
//!   ties a 5xx to its log line);
//! - `auth.rs`: sessions and the extractors for users and administrators;
//!   `scopes.rs`: what a third-party app's token may reach, and its gate;
//! - `visibility.rs`: who may see and who may list a cloudcast (and a
//!   minor's activity);
//! - `paths.rs`: the names kept for the site (no username or slug hides a
//!   page); `slugs.rs`: readable cloudcast URLs; `page.rs`: keyset cursors;
//! - `keys.rs`: every S3 key and prefix, for writers and for erasure;
//! - `queue.rs`: the transcode job queue; `purges.rs`: the queue of
//!   analytics removals; `outbox.rs`: the email outbox's one writer; `states.rs`: every state enum;
//! - `db.rs` (PostgreSQL and its migrations), `storage.rs` (S3 and the
//!   embedded endpoint), `signing.rs` (stream URLs), `ratelimit.rs`,
//!   `listener.rs`, `netaddr.rs`, `text.rs` (typed text's rules), `validators.rs` (HTTP dates, `If-None-Match`), `secrets.rs`, `extract.rs`, `apidoc.rs`,
//!   `metrics.rs`.

pub mod apidoc;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod keys;
pub mod listener;
pub mod metrics;
pub mod netaddr;
pub mod notify;
pub mod origin;
pub mod outbox;
pub mod page;
pub mod paths;
pub mod periodic;
pub mod purges;
pub mod queue;
pub mod quotas;
pub mod ratelimit;
pub mod request_id;
pub mod scopes;
pub mod secrets;
pub mod signing;
pub mod slugs;
pub mod standing;
pub mod states;
pub mod storage;
pub mod text;
pub mod validators;
pub mod visibility;
pub mod write_limits;

pub use error::{ApiError, ErrorCode};

/// The test hooks that abort the process at a named point
/// (`CLOUDCAST_FAILPOINT=<name>`), so kill tests can stop it exactly where
/// a crash would hurt. Unset in production.
pub fn failpoint(name: &str) -> bool {
    std::env::var("CLOUDCAST_FAILPOINT").is_ok_and(|v| v == name)
}

/// This machine's name (`/etc/hostname`), for naming a node's leases in the
/// queues; None when it cannot be read.
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}
