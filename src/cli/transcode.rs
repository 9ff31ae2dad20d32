//! `cloudcast transcode FILE --out DIR`: the worker's pipeline on a local
//! file (decode once, the configured AAC ladder, loudness, peaks, fragment
//! index), without the queue or S3. For operators checking a file, and for
//! the transcode benchmark.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::config::Config;
use cloudcast_transcode::pipeline::{LadderSpec, encode_ladder};
use cloudcast_transcode::publish::index_all;

pub fn run(config: &Config, input: PathBuf, out: PathBuf) -> anyhow::Result<()> {
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let spec = LadderSpec {
        bitrates_kbps: config.transcode.ladder_kbps.clone(),
        sample_rate: config.transcode.sample_rate,
        timeout: config.transcode.job_timeout,
    };
    let started = Instant::now();
    let ladder = encode_ladder(
        &input,
        &out,
        &spec,
        &AtomicBool::new(false),
        &AtomicU8::new(0),
    )?;
    let outputs = index_all(ladder)?;
    std::fs::write(
        out.join("peaks.json"),
        serde_json::to_vec(&outputs.waveform)?,
    )?;
    std::fs::write(out.join("peaks.dat"), outputs.fine_waveform.to_dat())?;
    let secs = started.elapsed().as_secs_f64();
    let renditions: Vec<_> = outputs
        .renditions
        .iter()
        .map(|r| {
            json!({
                "name": r.rendition.name,
                "path": r.rendition.path,
                "duration_ms": r.index.duration_ms(),
                "segments": r.index.segments.len(),
                "peak_bandwidth": r.index.peak_bandwidth(),
                "average_bandwidth": r.index.average_bandwidth(),
            })
        })
        .collect();
    let duration_ms = outputs
        .renditions
        .iter()
        .map(|r| r.index.duration_ms())
        .max()
        .unwrap_or(0);
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "seconds": secs,
            "realtime_factor": duration_ms as f64 / 1000.0 / secs,
            "loudness": outputs.loudness,
            "renditions": renditions,
        }))?
    );
    Ok(())
}
