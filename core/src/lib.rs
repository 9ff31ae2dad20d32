//! The foundation every domain crate builds on, and the one home of the
//! rules they share:
//!
//! - `config.rs`: the layered, validated configuration, one struct per section;
//! - `error.rs`: error codes and the one JSON error body (`request_id.rs`
//!   ties a 5xx to its log line);
//! - `auth.rs`: sessions and the extractors for users and administrators;
//! - `visibility.rs`: who may see a cloudcast (and a minor's activity);
//! - `keys.rs`: every S3 key and prefix, for writers and for erasure;
//! - `queue.rs`: the transcode job queue; `states.rs`: every state enum;
//! - `db.rs` (PostgreSQL and its migrations), `storage.rs` (S3 and the
//!   embedded endpoint), `signing.rs` (stream URLs), `ratelimit.rs`,
//!   `listener.rs`, `netaddr.rs`, `secrets.rs`, `extract.rs`, `apidoc.rs`,
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
pub mod queue;
pub mod ratelimit;
pub mod request_id;
pub mod secrets;
pub mod signing;
pub mod states;
pub mod storage;
pub mod visibility;

pub use config::Config;
pub use error::{ApiError, ErrorCode};
