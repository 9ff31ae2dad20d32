//! Every integration and end-to-end test, in one binary (one link of the
//! workspace instead of one per file), a module per topic. Each test starts
//! its own system with its own PostgreSQL database, ClickHouse database,
//! S3 bucket and folders, so they run in parallel, beside a system started
//! by `infra/dev up`.

// The whole binary is test code: its helpers expect and panic on a failed
// assumption as the tests themselves do (clippy.toml allows it only inside
// `#[test]` functions).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod accounts;
mod analytics;
mod analytics_views;
mod bad_input;
mod behind_a_balancer;
mod blocks;
mod catalogue;
mod cluster;
mod comments;
mod drafts;
mod edges;
mod erasure;
mod export;
mod fuzz_api;
mod heartbeat_log;
mod metrics;
mod notifications;
mod oauth;
mod open_api;
mod passkeys;
mod pipeline;
mod playlists;
mod podcast;
mod policy_channels;
mod privacy;
mod registry;
mod related;
mod second_factor;
mod stream;
mod takedowns;
mod transcode;
mod trust;
mod tus;
mod uploads;
mod web_comments;
mod web_library;
mod web_notifications;
mod web_player;
mod web_playlists;
mod web_policy;
mod web_profile;
mod web_settings;
mod web_site;
mod web_upload;
