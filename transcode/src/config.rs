//! The `[transcode]` section: the ladder made of every upload and how the
//! workers share the queue.

use std::path::PathBuf;
use std::time::Duration;

use cloudcast_core::config::{Checked, Checks, units};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TranscodeConfig {
    /// AAC ladder in kb/s; one fragmented MP4 per entry.
    pub ladder_kbps: Vec<u32>,
    /// Output sample rate for every rendition.
    pub sample_rate: u32,
    /// Local scratch folder for originals and encoder output.
    pub work_dir: PathBuf,
    /// Jobs one worker process runs at once.
    pub concurrency: usize,
    /// How long a lease lasts before another worker may take the job.
    #[serde(rename = "lease_secs", with = "units::secs")]
    pub lease: Duration,
    pub max_attempts: u32,
    /// Hard limit on one job's run time.
    #[serde(rename = "job_timeout_secs", with = "units::secs")]
    pub job_timeout: Duration,
    /// How often a batch of published mixes without a loudness series, and
    /// one of mixes whose renditions have no segment index, are queued (the
    /// backfills; transcodes go first). The name predates the second.
    #[serde(rename = "loudness_backfill_secs", with = "units::secs")]
    pub loudness_backfill: Duration,
}

impl Default for TranscodeConfig {
    fn default() -> Self {
        Self {
            ladder_kbps: vec![64, 128, 192],
            sample_rate: 44100,
            work_dir: PathBuf::from("var/work"),
            concurrency: 1,
            lease: Duration::from_secs(60),
            max_attempts: 3,
            job_timeout: Duration::from_secs(3600),
            loudness_backfill: Duration::from_secs(60),
        }
    }
}

impl Checked for TranscodeConfig {
    fn check(&self, c: &mut Checks) {
        c.check(
            !self.ladder_kbps.is_empty() && self.ladder_kbps.iter().all(|k| (8..=512).contains(k)),
            "transcode.ladder_kbps",
            || {
                format!(
                    "must list bit rates of 8 to 512 kb/s (it is {:?})",
                    self.ladder_kbps
                )
            },
        );
        c.check(
            (8000..=96000).contains(&self.sample_rate),
            "transcode.sample_rate",
            || format!("must be 8000 to 96000 Hz (it is {})", self.sample_rate),
        );
        c.at_least("transcode.concurrency", self.concurrency, 1);
        // Renewals run every third of the lease, at most every 2 s.
        c.duration_at_least("transcode.lease_secs", self.lease, Duration::from_secs(3));
        c.at_least("transcode.max_attempts", self.max_attempts, 1);
        c.duration_at_least(
            "transcode.job_timeout_secs",
            self.job_timeout,
            Duration::from_secs(1),
        );
        c.duration_at_least(
            "transcode.loudness_backfill_secs",
            self.loudness_backfill,
            Duration::from_secs(1),
        );
    }
}
