//! Command-line tools beside `serve`: operator commands and the uploader.

pub mod admin;
pub mod transcode;
pub mod upload;
