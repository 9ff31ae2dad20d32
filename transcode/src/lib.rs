//! Transcode: the GStreamer AAC ladder and publishing its output.
//!
//! Stages, one file each: the job comes from the queue (`core/src/queue.rs`:
//! lease, renew, finish, retry) -> `pipeline.rs` (decode once, encode every
//! rendition, with `analysis.rs` measuring loudness and peaks on the same
//! PCM) -> the fMP4 index of each file (`media/src/fmp4.rs`) -> `publish.rs`
//! (upload a new version, switch atomically); `worker.rs` drives them for
//! one job at a time and `metrics.rs` declares what it measures.

pub mod analysis;
pub mod config;
pub mod error;
pub mod metrics;
pub mod pipeline;
pub mod publish;
pub mod worker;

pub use error::TranscodeError;
pub use worker::{WorkerState, run_workers};
