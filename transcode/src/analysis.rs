//! Measurements taken from the same decoded PCM the encoders get: EBU R128
//! loudness (integrated, range, true peak, and the short-term loudness once
//! a second, which the statistics lay over the tracklist so a changed
//! tracklist needs no new transcode; the `ebur128` crate) and waveform
//! peaks at two resolutions, in BBC audiowaveform's formats, which peaks.js
//! reads: the overview (10 pixels a second, JSON) and the fine one for
//! zooming (512 samples a pixel, peaks.js's closest default zoom level, in
//! the compact binary `.dat`: a 3-hour mix at 44.1 kHz is about 1.9 MB).

use ebur128::{EbuR128, Mode};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct Loudness {
    /// Integrated loudness, LUFS; `None` for silence.
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU.
    pub range_lu: Option<f64>,
    /// Maximum true peak over both channels, dBTP; `None` for silence.
    pub true_peak_dbtp: Option<f64>,
}

/// audiowaveform's JSON (version 2, one channel, 8-bit): `data` holds a
/// min and a max per pixel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waveform {
    pub version: u32,
    pub channels: u32,
    pub sample_rate: u32,
    pub samples_per_pixel: u32,
    pub bits: u32,
    pub length: usize,
    pub data: Vec<i8>,
}

impl Waveform {
    /// audiowaveform's binary `.dat` (version 2): a 24-byte little-endian
    /// header (version, flags with bit 0 set for 8-bit data, sample rate,
    /// samples per pixel, length in pixels, channels), then a min and a max
    /// byte per pixel.
    pub fn to_dat(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.data.len());
        let length = u32::try_from(self.length).unwrap_or(u32::MAX);
        for v in [
            self.version,
            1, // 8-bit samples
            self.sample_rate,
            self.samples_per_pixel,
            length,
            self.channels,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend(self.data.iter().map(|&v| v as u8));
        out
    }
}

/// Pixels per second of audio in the overview: a 3-hour mix makes about
/// 108k pixels (~600 KB of JSON); players zoom out from there.
pub const PIXELS_PER_SECOND: u32 = 10;

/// Samples per pixel of the fine waveform: peaks.js's default zoom levels
/// run from 512 to 4096, and it can only zoom out from its source.
pub const FINE_SAMPLES_PER_PIXEL: u32 = 512;

/// Min and max per pixel of `samples_per_pixel` samples.
struct Peaks {
    samples_per_pixel: u32,
    in_pixel: u32,
    min: f32,
    max: f32,
    data: Vec<i8>,
}

impl Peaks {
    fn new(samples_per_pixel: u32) -> Peaks {
        Peaks {
            samples_per_pixel: samples_per_pixel.max(1),
            in_pixel: 0,
            min: 0.0,
            max: 0.0,
            data: Vec::new(),
        }
    }

    fn add(&mut self, v: f32) {
        if self.in_pixel == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.in_pixel += 1;
        if self.in_pixel == self.samples_per_pixel {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.in_pixel > 0 {
            self.data.push(to_i8(self.min));
            self.data.push(to_i8(self.max));
            self.in_pixel = 0;
        }
    }

    fn finish(mut self, sample_rate: u32) -> Waveform {
        self.flush();
        Waveform {
            version: 2,
            channels: 1,
            sample_rate,
            samples_per_pixel: self.samples_per_pixel,
            bits: 8,
            length: self.data.len() / 2,
            data: self.data,
        }
    }
}

pub struct Analyzer {
    ebu: Option<EbuR128>,
    channels: usize,
    sample_rate: u32,
    /// Frames fed since the last short-term value.
    in_second: usize,
    short_term: Vec<Option<f32>>,
    overview: Peaks,
    fine: Peaks,
    error: Option<String>,
}

/// What the analysis found.
pub struct Analysis {
    pub loudness: Loudness,
    /// 10 pixels a second.
    pub overview: Waveform,
    /// [`FINE_SAMPLES_PER_PIXEL`] samples a pixel.
    pub fine: Waveform,
    /// Short-term loudness (EBU R128: the last 3 s), LUFS, at the end of
    /// each whole second; `None` for silence.
    pub short_term: Vec<Option<f32>>,
    pub error: Option<String>,
}

fn to_i8(v: f32) -> i8 {
    (v.clamp(-1.0, 1.0) * 127.0).round() as i8
}

impl Analyzer {
    pub fn new(channels: u32, sample_rate: u32) -> Analyzer {
        let (ebu, error) = match EbuR128::new(
            channels,
            sample_rate,
            Mode::I | Mode::LRA | Mode::S | Mode::TRUE_PEAK,
        ) {
            Ok(e) => (Some(e), None),
            Err(e) => (None, Some(format!("loudness meter: {e:?}"))),
        };
        Analyzer {
            ebu,
            channels: channels.max(1) as usize,
            sample_rate,
            in_second: 0,
            short_term: Vec::new(),
            overview: Peaks::new(sample_rate / PIXELS_PER_SECOND),
            fine: Peaks::new(FINE_SAMPLES_PER_PIXEL),
            error,
        }
    }

    /// Feeds interleaved float frames.
    pub fn add(&mut self, frames: &[f32]) {
        // Fed up to each second's end, where the short-term value is read.
        let per_second = self.sample_rate.max(1) as usize;
        let mut rest = frames;
        while !rest.is_empty() {
            let room = (per_second - self.in_second) * self.channels;
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.meter(now);
            self.in_second += now.len() / self.channels;
            if self.in_second == per_second {
                self.in_second = 0;
                let value = self
                    .ebu
                    .as_ref()
                    .and_then(|e| e.loudness_shortterm().ok())
                    .filter(|v| v.is_finite())
                    .map(|v| v as f32);
                self.short_term.push(value);
            }
            rest = later;
        }
        for frame in frames.chunks_exact(self.channels) {
            // One channel in the waveform: the mean of the channels.
            let v = frame.iter().sum::<f32>() / self.channels as f32;
            self.overview.add(v);
            self.fine.add(v);
        }
    }

    fn meter(&mut self, frames: &[f32]) {
        if let Some(ebu) = self.ebu.as_mut()
            && let Err(e) = ebu.add_frames_f32(frames)
        {
            self.error = Some(format!("loudness meter: {e:?}"));
            self.ebu = None;
        }
    }

    pub fn finish(self) -> Analysis {
        let finite = |v: f64| v.is_finite().then_some(v);
        let loudness = match &self.ebu {
            Some(ebu) => {
                let peak = (0..self.channels as u32)
                    .filter_map(|c| ebu.true_peak(c).ok())
                    .fold(0.0f64, f64::max);
                Loudness {
                    integrated_lufs: ebu.loudness_global().ok().and_then(finite),
                    range_lu: ebu.loudness_range().ok().and_then(finite),
                    true_peak_dbtp: (peak > 0.0).then(|| 20.0 * peak.log10()).and_then(finite),
                }
            }
            None => Loudness::default(),
        };
        Analysis {
            loudness,
            overview: self.overview.finish(self.sample_rate),
            fine: self.fine.finish(self.sample_rate),
            short_term: self.short_term,
            error: self.error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(seconds: u32, rate: u32, amplitude: f32) -> Vec<f32> {
        (0..seconds * rate)
            .flat_map(|i| {
                let v = amplitude
                    * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate as f32).sin();
                [v, v]
            })
            .collect()
    }

    #[test]
    fn full_scale_sine_measures_as_expected() {
        let mut a = Analyzer::new(2, 48000);
        a.add(&sine(10, 48000, 1.0));
        let Analysis {
            loudness: l,
            overview: w,
            fine,
            error: err,
            ..
        } = a.finish();
        assert!(err.is_none());
        assert_eq!(
            fine.length,
            480_000usize.div_ceil(512),
            "512 samples a pixel"
        );
        assert_eq!(fine.samples_per_pixel, 512);
        // A 1 kHz full-scale sine in both channels of a stereo signal reads
        // about -0.7 LUFS... per channel -3.01 LUFS, summed over two: ~0.
        let i = l.integrated_lufs.unwrap_or(f64::NAN);
        assert!((i - 0.0).abs() < 1.0, "integrated {i}");
        let tp = l.true_peak_dbtp.unwrap_or(f64::NAN);
        assert!(tp.abs() < 0.7, "true peak {tp}");
        assert_eq!(w.length, 100, "10 s at 10 pixels per second");
        assert_eq!(w.data.len(), 200);
        assert!(w.data.chunks(2).all(|p| p[0] <= -120 && p[1] >= 120));
    }

    #[test]
    fn short_term_loudness_is_read_once_a_second() {
        // 5 s of a sine, then 5 s of the same 6 dB louder (twice the
        // amplitude), fed in odd-sized pieces.
        let mut a = Analyzer::new(2, 48000);
        let mut pcm = sine(5, 48000, 0.25);
        pcm.extend(sine(5, 48000, 0.5));
        for piece in pcm.chunks(2 * 12_345) {
            a.add(piece);
        }
        let st = a.finish().short_term;
        assert_eq!(st.len(), 10, "one value a second");
        let (quiet, loud) = (st[3].unwrap_or(f32::NAN), st[9].unwrap_or(f32::NAN));
        assert!(((loud - quiet) - 6.02).abs() < 0.1, "{quiet} then {loud}");
    }

    #[test]
    fn silence_has_no_loudness() {
        let mut a = Analyzer::new(2, 44100);
        a.add(&vec![0.0; 44100 * 2 * 5]);
        let Analysis {
            loudness: l,
            overview: w,
            ..
        } = a.finish();
        assert_eq!(l.integrated_lufs, None);
        assert_eq!(l.true_peak_dbtp, None);
        assert!(w.data.iter().all(|&v| v == 0));
        assert_eq!(a_short_term_of_silence(), vec![None; 5]);
    }

    fn a_short_term_of_silence() -> Vec<Option<f32>> {
        let mut a = Analyzer::new(2, 44100);
        a.add(&vec![0.0; 44100 * 2 * 5]);
        a.finish().short_term
    }

    #[test]
    fn waveform_json_has_the_audiowaveform_fields() {
        let mut a = Analyzer::new(2, 44100);
        a.add(&sine(1, 44100, 0.5));
        let w = a.finish().overview;
        let v = serde_json::to_value(&w).unwrap_or_default();
        for k in [
            "version",
            "channels",
            "sample_rate",
            "samples_per_pixel",
            "bits",
            "length",
            "data",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(v["samples_per_pixel"], 4410);
    }

    #[test]
    fn the_fine_waveform_is_audiowaveform_dat() {
        let mut a = Analyzer::new(1, 44100);
        a.add(&vec![0.5; 1024 + 10]);
        let dat = a.finish().fine.to_dat();
        let word = |i: usize| u32::from_le_bytes([dat[i], dat[i + 1], dat[i + 2], dat[i + 3]]);
        assert_eq!(
            (word(0), word(4), word(8), word(12), word(16), word(20)),
            (2, 1, 44100, 512, 3, 1),
            "version, 8-bit flag, rate, samples per pixel, pixels, channels"
        );
        assert_eq!(dat.len(), 24 + 3 * 2);
        assert_eq!(dat[24..].to_vec(), vec![64u8; 6], "0.5 is 64 of 127");
    }
}
