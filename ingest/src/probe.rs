//! Checks an uploaded original before any transcoding is queued: GStreamer's
//! discoverer reads the object through a short-lived presigned URL (only the
//! bytes it needs) and reports its streams and duration.

use std::time::Duration;

use gstreamer as gst;
use gstreamer_pbutils as pbutils;

#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// Audio, with its duration when the container tells it.
    Audio { duration_ms: Option<u64> },
    /// Not something we accept; the reason is shown to the DJ.
    Rejected(String),
    /// The probe itself could not finish (timeout, network): let the
    /// transcoder decide rather than reject a good file.
    Inconclusive(String),
}

/// Blocking: run it on a blocking thread.
pub fn probe_uri(uri: &str, timeout: Duration, max_duration: Duration) -> Probe {
    if let Err(e) = gst::init() {
        return Probe::Inconclusive(format!("GStreamer did not initialise: {e}"));
    }
    let discoverer =
        match pbutils::Discoverer::new(gst::ClockTime::from_nseconds(timeout.as_nanos() as u64)) {
            Ok(d) => d,
            Err(e) => return Probe::Inconclusive(format!("no discoverer: {e}")),
        };
    let info = match discoverer.discover_uri(uri) {
        Ok(info) => info,
        Err(e) => {
            let msg = e.to_string();
            let lower = msg.to_lowercase();
            if lower.contains("timeout") || lower.contains("timed out") || lower.contains("connect")
            {
                return Probe::Inconclusive(msg);
            }
            return Probe::Rejected(format!("the file is not audio we can read ({msg})"));
        }
    };
    if info.audio_streams().is_empty() {
        return Probe::Rejected("the file contains no audio stream".into());
    }
    let duration_ms = info.duration().map(|d| d.mseconds()).filter(|&d| d > 0);
    if let Some(d) = duration_ms
        && d > max_duration.as_millis() as u64
    {
        return Probe::Rejected(format!(
            "the audio lasts {} min; the limit is {} min",
            d / 60_000,
            max_duration.as_secs() / 60
        ));
    }
    Probe::Audio { duration_ms }
}
