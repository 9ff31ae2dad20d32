//! Measurements taken from the same decoded PCM the encoders get: EBU R128
//! loudness (integrated, range, true peak; the `ebur128` crate) and waveform
//! peaks in BBC audiowaveform's JSON format, which peaks.js draws.

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

/// Pixels per second of audio in the stored waveform: a 3-hour mix makes
/// about 108k pixels (~600 KB of JSON); players zoom out from there.
pub const PIXELS_PER_SECOND: u32 = 10;

pub struct Analyzer {
    ebu: Option<EbuR128>,
    channels: usize,
    sample_rate: u32,
    samples_per_pixel: u32,
    in_pixel: u32,
    pixel_min: f32,
    pixel_max: f32,
    data: Vec<i8>,
    error: Option<String>,
}

fn to_i8(v: f32) -> i8 {
    (v.clamp(-1.0, 1.0) * 127.0).round() as i8
}

impl Analyzer {
    pub fn new(channels: u32, sample_rate: u32) -> Analyzer {
        let (ebu, error) =
            match EbuR128::new(channels, sample_rate, Mode::I | Mode::LRA | Mode::TRUE_PEAK) {
                Ok(e) => (Some(e), None),
                Err(e) => (None, Some(format!("loudness meter: {e:?}"))),
            };
        Analyzer {
            ebu,
            channels: channels.max(1) as usize,
            sample_rate,
            samples_per_pixel: (sample_rate / PIXELS_PER_SECOND).max(1),
            in_pixel: 0,
            pixel_min: 0.0,
            pixel_max: 0.0,
            data: Vec::new(),
            error,
        }
    }

    /// Feeds interleaved float frames.
    pub fn add(&mut self, frames: &[f32]) {
        if let Some(ebu) = self.ebu.as_mut()
            && let Err(e) = ebu.add_frames_f32(frames)
        {
            self.error = Some(format!("loudness meter: {e:?}"));
            self.ebu = None;
        }
        for frame in frames.chunks_exact(self.channels) {
            // One channel in the waveform: the mean of the channels.
            let v = frame.iter().sum::<f32>() / self.channels as f32;
            if self.in_pixel == 0 {
                self.pixel_min = v;
                self.pixel_max = v;
            } else {
                self.pixel_min = self.pixel_min.min(v);
                self.pixel_max = self.pixel_max.max(v);
            }
            self.in_pixel += 1;
            if self.in_pixel == self.samples_per_pixel {
                self.flush_pixel();
            }
        }
    }

    fn flush_pixel(&mut self) {
        if self.in_pixel > 0 {
            self.data.push(to_i8(self.pixel_min));
            self.data.push(to_i8(self.pixel_max));
            self.in_pixel = 0;
        }
    }

    pub fn finish(mut self) -> (Loudness, Waveform, Option<String>) {
        self.flush_pixel();
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
        let waveform = Waveform {
            version: 2,
            channels: 1,
            sample_rate: self.sample_rate,
            samples_per_pixel: self.samples_per_pixel,
            bits: 8,
            length: self.data.len() / 2,
            data: self.data,
        };
        (loudness, waveform, self.error)
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
        let (l, w, err) = a.finish();
        assert!(err.is_none());
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
    fn silence_has_no_loudness() {
        let mut a = Analyzer::new(2, 44100);
        a.add(&vec![0.0; 44100 * 2 * 5]);
        let (l, w, _) = a.finish();
        assert_eq!(l.integrated_lufs, None);
        assert_eq!(l.true_peak_dbtp, None);
        assert!(w.data.iter().all(|&v| v == 0));
    }

    #[test]
    fn waveform_json_has_the_audiowaveform_fields() {
        let mut a = Analyzer::new(2, 44100);
        a.add(&sine(1, 44100, 0.5));
        let (_, w, _) = a.finish();
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
}
