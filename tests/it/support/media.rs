//! Test media: deterministic bytes, WAV and MP3 files made on the spot,
//! and decoding with ffmpeg (a real HLS client).

use std::path::{Path, PathBuf};
use std::process::Command;

/// Deterministic incompressible bytes (xorshift), no dependency needed.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// A valid WAV file (16-bit stereo 44.1 kHz) of noise, `len` bytes in all:
/// audio that passes the probe yet does not compress.
pub fn noise_wav(len: usize, seed: u64) -> Vec<u8> {
    let data_len = (len - 44) & !3;
    wav(&noise(data_len, seed))
}

/// 16-bit stereo 44.1 kHz PCM with its WAV header.
fn wav(pcm: &[u8]) -> Vec<u8> {
    let data_len = pcm.len() as u32;
    let mut out = Vec::with_capacity(44 + pcm.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(
        b"WAVEfmt \x10\0\0\0\x01\0\x02\0\x44\xac\0\0\x10\xb1\x02\0\x04\0\x10\0data",
    );
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(pcm);
    out
}

/// A WAV file (16-bit stereo 44.1 kHz) of a 1 kHz tone: `seconds` at each
/// amplitude in turn (twice the amplitude is 6.02 dB, so 6.02 LU, louder).
pub fn tones_wav(seconds: u32, amplitudes: &[f32]) -> Vec<u8> {
    let rate = 44_100u32;
    let mut pcm = Vec::new();
    for (n, &amp) in amplitudes.iter().enumerate() {
        for i in 0..seconds * rate {
            let t = f64::from(n as u32 * seconds * rate + i) / f64::from(rate);
            let v =
                (f64::from(amp) * (2.0 * std::f64::consts::PI * 1000.0 * t).sin() * 32767.0) as i16;
            pcm.extend_from_slice(&v.to_le_bytes());
            pcm.extend_from_slice(&v.to_le_bytes());
        }
    }
    wav(&pcm)
}

pub fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Makes a stereo MP3 of `seconds` seconds with GStreamer.
pub fn make_mp3(dir: &Path, seconds: u32) -> PathBuf {
    let path = dir.join(format!("source-{seconds}s.mp3"));
    // 4410 samples per buffer at 44.1 kHz = 0.1 s per buffer: an exact duration.
    let status = Command::new("gst-launch-1.0")
        .args([
            "-q",
            "audiotestsrc",
            "wave=ticks",
            "samplesperbuffer=4410",
            &format!("num-buffers={}", seconds * 10),
            "!",
            "audio/x-raw,rate=44100,channels=2",
            "!",
            "audioconvert",
            "!",
            "lamemp3enc",
            "target=bitrate",
            "bitrate=128",
            "cbr=true",
            "!",
            "xingmux",
            "!",
            "id3v2mux",
            "!",
            "filesink",
        ])
        .arg(format!("location={}", path.display()))
        .status()
        .expect("gst-launch-1.0 must be installed (infra/dev installs it)");
    assert!(status.success(), "gst-launch failed");
    path
}

/// Decodes `input` (a file or an HLS URL) with ffmpeg and returns the
/// duration of the decoded PCM in seconds. A stream URL is honoured only
/// for the client that asked for it: the tests ask with their client's
/// user agent, and ffmpeg (keeping no cookies) plays it as that client.
pub fn decoded_seconds(input: &str) -> f64 {
    let mut args = vec!["-v", "error", "-nostdin"];
    if input.starts_with("http") {
        args.extend(["-user_agent", crate::support::BROWSER_UA]);
    }
    args.extend([
        "-i", input, "-vn", "-f", "s16le", "-ac", "2", "-ar", "44100", "-",
    ]);
    let out = Command::new("ffmpeg")
        .args(&args)
        .output()
        .expect("ffmpeg must be installed (infra/dev installs it)");
    assert!(
        out.status.success(),
        "ffmpeg failed on {input}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.len() as f64 / (44100.0 * 2.0 * 2.0)
}
