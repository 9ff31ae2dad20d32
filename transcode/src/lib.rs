//! Transcode: the job queue in PostgreSQL, the GStreamer AAC ladder, the
//! fragment index of each output file, HLS playlist rendering and publishing.
//!
//! Stages, one file each: `queue.rs` (lease, renew, finish, retry) ->
//! `pipeline.rs` (decode once, encode every rendition) -> `index.rs` (fMP4
//! fragments) -> `publish.rs` (upload a new version, switch atomically);
//! `worker.rs` drives them for one job at a time.

pub mod analysis;
pub mod error;
pub mod index;
pub mod pipeline;
pub mod playlist;
pub mod publish;
pub mod queue;
pub mod worker;

pub use error::TranscodeError;
pub use worker::{WorkerState, run_workers};
