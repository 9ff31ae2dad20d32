//! The GStreamer ladder: decode once, convert to stereo at one sample rate,
//! `tee` into one AAC-LC encoder per rendition, each muxed by
//! `mp4mux fragment-duration=6000` into one fragmented MP4 file.
//!
//! ```text
//! filesrc ! decodebin ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=R,channels=2
//!   ! audiobuffersplit output-buffer-duration=1/4 ! tee
//!   tee. ! queue ! audioconvert ! avenc_aac bitrate=B ! mp4mux fragment-duration=6000 ! filesink
//!   (one branch per rendition)
//! ```
//!
//! This runs on a blocking thread: GStreamer has its own streaming threads and
//! we only wait on the bus, checking the deadline and the cancel flag.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use crate::TranscodeError;
use crate::analysis::{Analyzer, Loudness, Waveform};

#[derive(Debug, Clone)]
pub struct LadderSpec {
    pub bitrates_kbps: Vec<u32>,
    pub sample_rate: u32,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Rendition {
    pub name: String,
    pub bitrate_kbps: u32,
    pub path: PathBuf,
}

/// What one decode pass produces.
#[derive(Debug)]
pub struct LadderOutput {
    pub renditions: Vec<Rendition>,
    pub loudness: Loudness,
    /// The overview (audiowaveform JSON).
    pub waveform: Waveform,
    /// The fine one for zooming (audiowaveform `.dat`).
    pub fine_waveform: Waveform,
    /// Short-term loudness once a second (LUFS; `None` for silence).
    pub short_term: Vec<Option<f32>>,
}

pub fn rendition_name(kbps: u32) -> String {
    format!("aac_{kbps}k")
}

fn make(factory: &str) -> Result<gst::Element, TranscodeError> {
    gst::ElementFactory::make(factory).build().map_err(|_| {
        TranscodeError::Gstreamer(format!(
            "the GStreamer element {factory} is missing; install the plugins (infra/dev does)"
        ))
    })
}

/// The queue that starts each branch after the tee (and gives it a thread).
/// A few seconds of audio: enough to keep the branches busy in parallel
/// without letting one run far ahead of the others.
fn branch_queue() -> Result<gst::Element, TranscodeError> {
    gst::ElementFactory::make("queue")
        .property("max-size-time", 5 * gst::ClockTime::SECOND.nseconds())
        .property("max-size-buffers", 0u32)
        .property("max-size-bytes", 0u32)
        .build()
        .map_err(gst_err)
}

fn gst_err(e: impl std::fmt::Display) -> TranscodeError {
    TranscodeError::Gstreamer(e.to_string())
}

/// Encodes `input` into one fragmented MP4 per bitrate in `out_dir`, and
/// measures loudness and waveform peaks on the way. `progress` is kept at
/// the percentage of the input decoded so far. With no bitrates it only
/// measures (the loudness backfill of mixes transcoded before the series).
pub fn encode_ladder(
    input: &Path,
    out_dir: &Path,
    spec: &LadderSpec,
    cancel: &AtomicBool,
    progress: &AtomicU8,
) -> Result<LadderOutput, TranscodeError> {
    gst::init().map_err(gst_err)?;
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("filesrc")
        .property("location", input.to_string_lossy().as_ref())
        .build()
        .map_err(gst_err)?;
    let decode = make("decodebin")?;
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    // Interleaved F32 is what avenc_aac takes and what the analysis reads:
    // converting once here leaves every branch after the tee a passthrough.
    let caps = gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("rate", spec.sample_rate as i32)
        .field("channels", 2i32)
        .build();
    let capsfilter = gst::ElementFactory::make("capsfilter")
        .property("caps", &caps)
        .build()
        .map_err(gst_err)?;
    // The decoder hands out one MP3 frame (26 ms) per buffer; each crossed
    // the tee into four queues and threads. Quarter-second buffers cut
    // that traffic twelvefold (the ladder's CPU by 6%, its time by 5%).
    let rebuffer = gst::ElementFactory::make("audiobuffersplit")
        .property("output-buffer-duration", gst::Fraction::new(1, 4))
        .build()
        .map_err(gst_err)?;
    let tee = make("tee")?;
    pipeline
        .add_many([
            &src,
            &decode,
            &convert,
            &resample,
            &capsfilter,
            &rebuffer,
            &tee,
        ])
        .map_err(gst_err)?;
    src.link(&decode).map_err(gst_err)?;
    gst::Element::link_many([&convert, &resample, &capsfilter, &rebuffer, &tee])
        .map_err(gst_err)?;

    let mut renditions = Vec::new();
    for &kbps in &spec.bitrates_kbps {
        let name = rendition_name(kbps);
        let path = out_dir.join(format!("{name}.mp4"));
        let queue = branch_queue()?;
        let conv = make("audioconvert")?;
        let enc = gst::ElementFactory::make("avenc_aac")
            .property("bitrate", (kbps as i32) * 1000)
            .build()
            .map_err(|_| {
                TranscodeError::Gstreamer("avenc_aac is missing: install gstreamer1.0-libav".into())
            })?;
        let mux = gst::ElementFactory::make("mp4mux")
            .property("fragment-duration", 6000u32)
            .build()
            .map_err(gst_err)?;
        let sink = gst::ElementFactory::make("filesink")
            .property("location", path.to_string_lossy().as_ref())
            .build()
            .map_err(gst_err)?;
        pipeline
            .add_many([&queue, &conv, &enc, &mux, &sink])
            .map_err(gst_err)?;
        gst::Element::link_many([&tee, &queue, &conv, &enc, &mux, &sink]).map_err(gst_err)?;
        renditions.push(Rendition {
            name,
            bitrate_kbps: kbps,
            path,
        });
    }

    // The analysis branch: interleaved float PCM for the loudness meter and
    // the waveform, pulled on GStreamer's streaming thread.
    let analyzer = Arc::new(Mutex::new(Analyzer::new(2, spec.sample_rate)));
    {
        let queue = branch_queue()?;
        let conv = make("audioconvert")?;
        let sink = gst_app::AppSink::builder()
            .caps(
                &gst::Caps::builder("audio/x-raw")
                    .field("format", "F32LE")
                    .field("layout", "interleaved")
                    .field("rate", spec.sample_rate as i32)
                    .field("channels", 2i32)
                    .build(),
            )
            .sync(false)
            .build();
        let an = analyzer.clone();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let Some(buffer) = sample.buffer() else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                    let frames: Vec<f32> = map
                        .as_slice()
                        .chunks_exact(4)
                        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        .collect();
                    if let Ok(mut a) = an.lock() {
                        a.add(&frames);
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let sink: gst::Element = sink.upcast();
        pipeline.add_many([&queue, &conv, &sink]).map_err(gst_err)?;
        gst::Element::link_many([&tee, &queue, &conv, &sink]).map_err(gst_err)?;
    }

    // decodebin exposes its pads once it knows the stream: link the first audio pad.
    let linked = Arc::new(AtomicBool::new(false));
    let convert_weak = convert.downgrade();
    let linked_in_cb = linked.clone();
    decode.connect_pad_added(move |_, pad| {
        let is_audio = pad
            .current_caps()
            .or_else(|| Some(pad.query_caps(None)))
            .and_then(|c| c.structure(0).map(|s| s.name().starts_with("audio/")))
            .unwrap_or(false);
        if !is_audio || linked_in_cb.load(Ordering::SeqCst) {
            return;
        }
        let Some(convert) = convert_weak.upgrade() else {
            return;
        };
        if let Some(sink) = convert.static_pad("sink")
            && pad.link(&sink).is_ok()
        {
            linked_in_cb.store(true, Ordering::SeqCst);
        }
    });
    let linked_in_cb = linked.clone();
    decode.connect_no_more_pads(move |dbin| {
        if !linked_in_cb.load(Ordering::SeqCst) {
            gst::element_error!(
                dbin,
                gst::StreamError::WrongType,
                ["the file has no audio stream"]
            );
        }
    });

    let result = run_to_eos(&pipeline, spec.timeout, cancel, progress);
    let _ = pipeline.set_state(gst::State::Null);
    drop(pipeline);
    result?;
    // The pipeline is stopped: take the measurements out of the shared slot.
    let analyzer = {
        let mut slot = analyzer
            .lock()
            .map_err(|_| TranscodeError::Gstreamer("the analysis branch panicked".into()))?;
        std::mem::replace(&mut *slot, Analyzer::new(2, spec.sample_rate))
    };
    let analysis = analyzer.finish();
    if let Some(e) = analysis.error {
        tracing::warn!(error = %e, "loudness could not be measured");
    }
    Ok(LadderOutput {
        renditions,
        loudness: analysis.loudness,
        waveform: analysis.overview,
        fine_waveform: analysis.fine,
        short_term: analysis.short_term,
    })
}

fn run_to_eos(
    pipeline: &gst::Pipeline,
    timeout: Duration,
    cancel: &AtomicBool,
    progress: &AtomicU8,
) -> Result<(), TranscodeError> {
    let bus = pipeline
        .bus()
        .ok_or_else(|| TranscodeError::Gstreamer("pipeline has no bus".into()))?;
    if pipeline.set_state(gst::State::Playing).is_err() {
        // The reason is on the bus.
        if let Some(msg) =
            bus.timed_pop_filtered(gst::ClockTime::from_seconds(1), &[gst::MessageType::Error])
            && let gst::MessageView::Error(err) = msg.view()
        {
            return Err(classify(err));
        }
        return Err(TranscodeError::Gstreamer(
            "the pipeline refused to start".into(),
        ));
    }
    let start = Instant::now();
    loop {
        if cancel.load(Ordering::SeqCst) {
            return Err(TranscodeError::Cancelled);
        }
        if start.elapsed() > timeout {
            return Err(TranscodeError::Timeout(timeout.as_secs()));
        }
        let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(200),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) else {
            if let (Some(pos), Some(dur)) = (
                pipeline.query_position::<gst::ClockTime>(),
                pipeline.query_duration::<gst::ClockTime>(),
            ) && dur.nseconds() > 0
            {
                let pct = (pos.nseconds() as u128 * 100 / dur.nseconds() as u128).min(99) as u8;
                progress.store(pct, Ordering::Relaxed);
            }
            continue;
        };
        match msg.view() {
            gst::MessageView::Eos(_) => return Ok(()),
            gst::MessageView::Error(err) => return Err(classify(err)),
            _ => {}
        }
    }
}

/// Errors raised while finding and decoding the stream are the input's fault
/// (not audio, corrupt, truncated); anything else may be worth a retry.
fn classify(err: &gst::message::Error) -> TranscodeError {
    let source = err
        .src()
        .map(|s| s.path_string().to_string())
        .unwrap_or_default();
    let text = err.error().to_string();
    let input_side = source.contains("decodebin")
        || source.contains("filesrc")
        || err.error().is::<gst::StreamError>();
    if input_side {
        TranscodeError::BadInput(format!("the file could not be decoded as audio: {text}"))
    } else {
        TranscodeError::Gstreamer(format!("{text} (in {source})"))
    }
}
