//! Small foundation shared by the domain crates: configuration, error codes,
//! the S3 storage wrapper (and the embedded S3 endpoint), PostgreSQL set-up
//! and the request extractors that turn bad input into JSON 4xx errors.

pub mod apidoc;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod limits;
pub mod listener;
pub mod netaddr;
pub mod secrets;
pub mod signing;
pub mod storage;

pub use config::Config;
pub use error::{ApiError, ErrorCode};
