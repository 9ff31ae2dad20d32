//! Byte-range index of a fragmented MP4 (as written by GStreamer's
//! `mp4mux fragment-duration=…`), used to serve byte-range HLS straight from
//! the single `.mp4` file.
//!
//! Only box headers plus the (small) `moov`/`moof` bodies are read; `mdat`
//! payloads are skipped with `seek`, so indexing a multi-GB mix is cheap.

use std::io::{self, Read, Seek, SeekFrom};

use serde::{Deserialize, Serialize};

/// Upper bound on a `moov` body we are willing to buffer. Fragmented files
/// keep their sample tables in the `moof`s, so a real `moov` is a few KB;
/// the cap only stops a corrupt size field from forcing a huge allocation.
const MAX_MOOV_BYTES: u64 = 64 * 1024 * 1024;
/// Same reasoning for `moof`: a 6 s audio fragment's `moof` is ~3 KB.
const MAX_MOOF_BYTES: u64 = 16 * 1024 * 1024;

/// One HLS media segment: a `moof` plus the `mdat` right after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    /// Byte offset of the `moof` box.
    pub offset: u64,
    /// `moof` size + `mdat` size.
    pub length: u64,
    /// Duration in milliseconds, rounded half-up from `ticks`.
    pub duration_ms: u64,
    /// Number of audio samples (AAC frames) in the fragment.
    pub samples: u32,
    /// Exact duration in media timescale units.
    pub ticks: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FragmentIndex {
    /// Length of the init segment (`ftyp` + `moov`, and anything between
    /// them), which always starts at offset 0.
    pub init_length: u64,
    /// Media timescale (ticks per second) of the audio track.
    pub timescale: u32,
    pub segments: Vec<Segment>,
    pub file_size: u64,
    /// The audio track's id (0 in indexes stored before it was kept).
    #[serde(default)]
    pub track_id: u32,
    /// The first fragment's decode time (`tfdt`), in `timescale` ticks.
    #[serde(default)]
    pub first_decode_time: u64,
    /// A segment index (`sidx`) precedes the fragments, so progressive
    /// players know every seek point at once (see `sidx.rs`).
    #[serde(default)]
    pub sidx: bool,
    /// Some `tfhd` names absolute file offsets: the fragments cannot be moved.
    #[serde(skip)]
    pub absolute_offsets: bool,
}

impl FragmentIndex {
    fn total_ticks(&self) -> u128 {
        self.segments.iter().map(|s| u128::from(s.ticks)).sum()
    }

    fn total_segment_bytes(&self) -> u128 {
        self.segments.iter().map(|s| u128::from(s.length)).sum()
    }

    /// Total duration computed from the summed ticks (not from the per-segment
    /// rounded milliseconds, which would accumulate rounding error).
    pub fn duration_ms(&self) -> u64 {
        ticks_to_ms(self.total_ticks(), self.timescale)
    }

    /// Highest per-segment bit rate in bits/s, rounded up because HLS
    /// `BANDWIDTH` must be an upper bound. Zero-duration segments are ignored.
    pub fn peak_bandwidth(&self) -> u64 {
        let ts = u128::from(self.timescale);
        self.segments
            .iter()
            .filter(|s| s.ticks > 0)
            .map(|s| {
                let bits_x_ts = u128::from(s.length) * 8 * ts;
                let ticks = u128::from(s.ticks);
                saturate(bits_x_ts.div_ceil(ticks))
            })
            .max()
            .unwrap_or(0)
    }

    /// Average bit rate over all segments in bits/s (rounded half-up); the
    /// init segment is not counted, matching how HLS defines segment bit rate.
    pub fn average_bandwidth(&self) -> u64 {
        let ticks = self.total_ticks();
        if ticks == 0 {
            return 0;
        }
        let bits_x_ts = self.total_segment_bytes() * 8 * u128::from(self.timescale);
        saturate((bits_x_ts + ticks / 2) / ticks)
    }

    pub fn max_segment_duration_secs(&self) -> f64 {
        if self.timescale == 0 {
            return 0.0;
        }
        let max_ticks = self.segments.iter().map(|s| s.ticks).max().unwrap_or(0);
        max_ticks as f64 / f64::from(self.timescale)
    }
}

/// Rounded-half-up milliseconds; `timescale == 0` (only possible through a
/// hand-built or deserialized index) yields 0 instead of dividing by zero.
pub(crate) fn ticks_to_ms(ticks: u128, timescale: u32) -> u64 {
    if timescale == 0 {
        return 0;
    }
    let ts = u128::from(timescale);
    saturate((ticks * 1000 + ts / 2) / ts)
}

fn saturate(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("I/O error while indexing MP4: {0}")]
    Io(#[from] io::Error),
    #[error("not an MP4 file: expected an `ftyp` box at offset 0, found {found}")]
    MissingFtyp { found: String },
    #[error("MP4 has no `moov` box before its first fragment")]
    MissingMoov,
    #[error("MP4 contains more than one `moov` box (second one at offset {offset})")]
    DuplicateMoov { offset: u64 },
    #[error("MP4 is not fragmented: it contains no `moof` boxes")]
    NotFragmented,
    #[error(
        "truncated file: `{box_type}` box at offset {offset} declares {size} bytes \
         but the file ends at {file_size}"
    )]
    Truncated {
        box_type: String,
        offset: u64,
        size: u64,
        file_size: u64,
    },
    #[error("invalid size {size} for `{box_type}` box at offset {offset}")]
    InvalidBoxSize {
        box_type: String,
        offset: u64,
        size: u64,
    },
    #[error("`{box_type}` box at offset {offset} is {size} bytes, more than the {limit} allowed")]
    BoxTooLarge {
        box_type: String,
        offset: u64,
        size: u64,
        limit: u64,
    },
    #[error("`moof` at offset {offset} is not immediately followed by an `mdat`")]
    MoofWithoutMdat { offset: u64 },
    #[error("`mdat` at offset {offset} is not preceded by a `moof`")]
    MdatWithoutMoof { offset: u64 },
    #[error("MP4 has no audio track (no `trak` with a `soun` handler)")]
    NoAudioTrack,
    #[error("audio track has no usable timescale (missing `mdhd` or timescale 0)")]
    NoTimescale,
    #[error("`moof` at offset {offset} has no fragment for the audio track")]
    NoAudioFragment { offset: u64 },
    #[error(
        "cannot determine sample durations for `moof` at offset {offset}: \
         no durations in `trun`, `tfhd` or `trex`"
    )]
    MissingSampleDuration { offset: u64 },
    #[error("malformed `{box_type}` box at offset {offset}: {reason}")]
    Malformed {
        box_type: String,
        offset: u64,
        reason: &'static str,
    },
}

type FourCc = [u8; 4];

/// Printable form of a box type for error messages; non-ASCII garbage is
/// shown as hex so messages stay readable.
fn fourcc_str(t: FourCc) -> String {
    if t.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        t.iter().map(|&b| char::from(b)).collect()
    } else {
        format!("0x{:08x}", u32::from_be_bytes(t))
    }
}

fn malformed(box_type: FourCc, offset: u64, reason: &'static str) -> IndexError {
    IndexError::Malformed {
        box_type: fourcc_str(box_type),
        offset,
        reason,
    }
}

mod boxes;
use boxes::*;

/// What we need from `moov`.
struct MoovInfo {
    track_id: u32,
    timescale: u32,
    /// `trex.default_sample_duration` for the audio track, if any.
    trex_duration: Option<u32>,
}

struct TrakInfo {
    track_id: Option<u32>,
    handler: Option<FourCc>,
    timescale: Option<u32>,
}

fn parse_moov(body: &[u8], body_offset: u64) -> Result<MoovInfo, IndexError> {
    let mut audio: Option<(u32, Option<u32>)> = None;
    let mut trex: Vec<(u32, u32)> = Vec::new();
    for child in children(*b"moov", body, body_offset) {
        let child = child?;
        match &child.kind {
            b"trak" if audio.is_none() => {
                let t = parse_trak(&child)?;
                if t.handler.as_ref() == Some(b"soun") {
                    let id = t.track_id.ok_or_else(|| {
                        malformed(child.kind, child.offset, "audio trak has no tkhd")
                    })?;
                    audio = Some((id, t.timescale));
                }
            }
            b"mvex" => {
                for c in children(child.kind, child.body, child.body_offset) {
                    let c = c?;
                    if &c.kind == b"trex" {
                        let bad = || malformed(c.kind, c.offset, "box too short");
                        let mut cur = Cursor::new(c.body);
                        cur.full_box().ok_or_else(bad)?;
                        let track_id = cur.u32().ok_or_else(bad)?;
                        cur.skip(4).ok_or_else(bad)?; // default_sample_description_index
                        let duration = cur.u32().ok_or_else(bad)?;
                        trex.push((track_id, duration));
                    }
                }
            }
            _ => {}
        }
    }
    let (track_id, timescale) = audio.ok_or(IndexError::NoAudioTrack)?;
    let timescale = timescale
        .filter(|&t| t > 0)
        .ok_or(IndexError::NoTimescale)?;
    let trex_duration = trex.iter().find(|(id, _)| *id == track_id).map(|&(_, d)| d);
    Ok(MoovInfo {
        track_id,
        timescale,
        trex_duration,
    })
}

fn parse_trak(trak: &Child<'_>) -> Result<TrakInfo, IndexError> {
    let mut info = TrakInfo {
        track_id: None,
        handler: None,
        timescale: None,
    };
    for child in children(trak.kind, trak.body, trak.body_offset) {
        let child = child?;
        match &child.kind {
            b"tkhd" => {
                let bad = || malformed(child.kind, child.offset, "box too short");
                let mut c = Cursor::new(child.body);
                let (version, _) = c.full_box().ok_or_else(bad)?;
                // creation_time + modification_time: 32 or 64 bits each.
                c.skip(if version == 1 { 16 } else { 8 }).ok_or_else(bad)?;
                info.track_id = Some(c.u32().ok_or_else(bad)?);
            }
            b"mdia" => {
                for m in children(child.kind, child.body, child.body_offset) {
                    let m = m?;
                    let bad = || malformed(m.kind, m.offset, "box too short");
                    match &m.kind {
                        b"hdlr" => {
                            let mut c = Cursor::new(m.body);
                            c.full_box().ok_or_else(bad)?;
                            c.skip(4).ok_or_else(bad)?; // pre_defined
                            info.handler = Some(c.fourcc().ok_or_else(bad)?);
                        }
                        b"mdhd" => {
                            let mut c = Cursor::new(m.body);
                            let (version, _) = c.full_box().ok_or_else(bad)?;
                            c.skip(if version == 1 { 16 } else { 8 }).ok_or_else(bad)?;
                            info.timescale = Some(c.u32().ok_or_else(bad)?);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

/// Sums sample count and ticks over the audio track's `traf`s in one `moof`.
fn parse_moof(
    body: &[u8],
    body_offset: u64,
    moof_offset: u64,
    moov: &MoovInfo,
) -> Result<MoofInfo, IndexError> {
    let mut samples: u32 = 0;
    let mut ticks: u64 = 0;
    let mut found_track = false;
    let mut decode_time = None;
    let mut absolute = false;
    for traf in children(*b"moof", body, body_offset) {
        let traf = traf?;
        if &traf.kind != b"traf" {
            continue;
        }
        let boxes: Vec<Child<'_>> =
            children(traf.kind, traf.body, traf.body_offset).collect::<Result<_, _>>()?;
        let tfhd = boxes
            .iter()
            .find(|b| &b.kind == b"tfhd")
            .ok_or_else(|| malformed(traf.kind, traf.offset, "traf has no tfhd"))?;
        let (track_id, tfhd_duration, base_offset) = parse_tfhd(tfhd)?;
        absolute |= base_offset;
        if track_id != moov.track_id {
            continue;
        }
        found_track = true;
        if decode_time.is_none()
            && let Some(tfdt) = boxes.iter().find(|b| &b.kind == b"tfdt")
        {
            decode_time = Some(parse_tfdt(tfdt)?);
        }
        // Fallback chain for durations: trun per-sample > tfhd > trex.
        let default_duration = tfhd_duration.or(moov.trex_duration);
        for trun in boxes.iter().filter(|b| &b.kind == b"trun") {
            let (n, t) = parse_trun(trun, default_duration, moof_offset)?;
            samples = samples
                .checked_add(n)
                .ok_or_else(|| malformed(trun.kind, trun.offset, "sample count overflow"))?;
            ticks = ticks
                .checked_add(t)
                .ok_or_else(|| malformed(trun.kind, trun.offset, "duration overflow"))?;
        }
    }
    if !found_track {
        return Err(IndexError::NoAudioFragment {
            offset: moof_offset,
        });
    }
    Ok(MoofInfo {
        samples,
        ticks,
        decode_time,
        absolute,
    })
}

/// What one `moof` says of the audio track.
struct MoofInfo {
    samples: u32,
    ticks: u64,
    /// Its `tfdt`, when present.
    decode_time: Option<u64>,
    /// A `tfhd` with an absolute base data offset.
    absolute: bool,
}

/// `baseMediaDecodeTime` of a `tfdt` (32 or 64 bits by version).
fn parse_tfdt(tfdt: &Child<'_>) -> Result<u64, IndexError> {
    let bad = || malformed(tfdt.kind, tfdt.offset, "box too short");
    let mut c = Cursor::new(tfdt.body);
    let (version, _) = c.full_box().ok_or_else(bad)?;
    if version == 1 {
        let hi = u64::from(c.u32().ok_or_else(bad)?);
        let lo = u64::from(c.u32().ok_or_else(bad)?);
        Ok(hi << 32 | lo)
    } else {
        Ok(u64::from(c.u32().ok_or_else(bad)?))
    }
}

/// Returns (track_ID, default_sample_duration if flag 0x08 is set, whether
/// an absolute base data offset is given).
fn parse_tfhd(tfhd: &Child<'_>) -> Result<(u32, Option<u32>, bool), IndexError> {
    let bad = || malformed(tfhd.kind, tfhd.offset, "box too short for its flags");
    let mut c = Cursor::new(tfhd.body);
    let (_, flags) = c.full_box().ok_or_else(bad)?;
    let track_id = c.u32().ok_or_else(bad)?;
    let base_offset = flags & 0x01 != 0;
    if base_offset {
        c.skip(8).ok_or_else(bad)?; // base_data_offset
    }
    if flags & 0x02 != 0 {
        c.skip(4).ok_or_else(bad)?; // sample_description_index
    }
    let duration = if flags & 0x08 != 0 {
        Some(c.u32().ok_or_else(bad)?)
    } else {
        None
    };
    Ok((track_id, duration, base_offset))
}

/// Returns (sample_count, total ticks) of one `trun`.
fn parse_trun(
    trun: &Child<'_>,
    default_duration: Option<u32>,
    moof_offset: u64,
) -> Result<(u32, u64), IndexError> {
    let bad = || malformed(trun.kind, trun.offset, "box too short for its sample count");
    let mut c = Cursor::new(trun.body);
    let (_, flags) = c.full_box().ok_or_else(bad)?;
    let count = c.u32().ok_or_else(bad)?;
    if flags & 0x01 != 0 {
        c.skip(4).ok_or_else(bad)?; // data_offset
    }
    if flags & 0x04 != 0 {
        c.skip(4).ok_or_else(bad)?; // first_sample_flags
    }
    // Each of duration/size/flags/composition-offset present adds 4 bytes.
    let stride = 4 * (flags & 0xf00).count_ones() as usize;
    let count_usize = usize::try_from(count).map_err(|_| bad())?;
    // Validate the table length up front so a bogus count can't make us loop.
    let table_len = count_usize.checked_mul(stride).ok_or_else(bad)?;
    if c.remaining() < table_len {
        return Err(bad());
    }
    if flags & 0x100 != 0 {
        let mut total: u64 = 0;
        for _ in 0..count {
            let sample = c.take(stride).ok_or_else(bad)?;
            let d = u32::from_be_bytes([sample[0], sample[1], sample[2], sample[3]]);
            total += u64::from(d); // ≤ 2^32 samples × 2^32: fits in u64
        }
        Ok((count, total))
    } else if count == 0 {
        Ok((0, 0))
    } else {
        let d = default_duration.ok_or(IndexError::MissingSampleDuration {
            offset: moof_offset,
        })?;
        Ok((count, u64::from(count) * u64::from(d)))
    }
}

/// Indexes a fragmented MP4 read from offset 0 of `r`.
pub fn index_fragmented_mp4<R: Read + Seek>(r: &mut R) -> Result<FragmentIndex, IndexError> {
    let file_size = r.seek(SeekFrom::End(0))?;
    let mut moov: Option<MoovInfo> = None;
    let mut init_length = 0;
    let mut segments = Vec::new();
    // moof waiting for its mdat: (header, samples, ticks).
    let mut pending: Option<(BoxHeader, u32, u64)> = None;
    let mut first_decode_time = None;
    let mut absolute_offsets = false;
    let mut sidx = false;
    let mut seen_moof = false;
    // An mdat before any moof means either a plain (non-fragmented) MP4 or a
    // broken one; decide which once we know whether fragments follow.
    let mut early_mdat: Option<u64> = None;
    let mut offset = 0;

    while let Some(h) = read_header(r, offset, file_size)? {
        offset = h.end();
        if let Some((moof, samples, ticks)) = pending.take() {
            // The spec'd layout is strictly moof, mdat, moof, mdat, …
            if &h.kind != b"mdat" {
                return Err(IndexError::MoofWithoutMdat {
                    offset: moof.offset,
                });
            }
            let ts = moov.as_ref().map_or(0, |m| m.timescale);
            segments.push(Segment {
                offset: moof.offset,
                length: moof.size + h.size,
                duration_ms: ticks_to_ms(u128::from(ticks), ts),
                samples,
                ticks,
            });
            continue;
        }
        match &h.kind {
            b"moov" => {
                if moov.is_some() {
                    return Err(IndexError::DuplicateMoov { offset: h.offset });
                }
                let body = read_body(r, &h, MAX_MOOV_BYTES)?;
                moov = Some(parse_moov(&body, h.offset + h.header_len)?);
                init_length = h.end();
            }
            b"moof" => {
                if let Some(mdat) = early_mdat {
                    return Err(IndexError::MdatWithoutMoof { offset: mdat });
                }
                let info = moov.as_ref().ok_or(IndexError::MissingMoov)?;
                let body = read_body(r, &h, MAX_MOOF_BYTES)?;
                let m = parse_moof(&body, h.offset + h.header_len, h.offset, info)?;
                if !seen_moof {
                    first_decode_time = m.decode_time;
                }
                absolute_offsets |= m.absolute;
                seen_moof = true;
                pending = Some((h, m.samples, m.ticks));
            }
            b"mdat" => {
                if seen_moof {
                    return Err(IndexError::MdatWithoutMoof { offset: h.offset });
                }
                early_mdat.get_or_insert(h.offset);
            }
            b"sidx" if moov.is_some() && !seen_moof => sidx = true,
            // ftyp, free, skip, mfra, udta, …: nothing to index.
            _ => {}
        }
    }

    if let Some((moof, _, _)) = pending {
        return Err(IndexError::MoofWithoutMdat {
            offset: moof.offset,
        });
    }
    let moov = moov.ok_or(IndexError::MissingMoov)?;
    if segments.is_empty() {
        return Err(IndexError::NotFragmented);
    }
    Ok(FragmentIndex {
        init_length,
        timescale: moov.timescale,
        segments,
        file_size,
        track_id: moov.track_id,
        first_decode_time: first_decode_time.unwrap_or(0),
        sidx,
        absolute_offsets,
    })
}

mod sidx;
pub use sidx::{SidxError, add_sidx, sidx_box};

#[cfg(test)]
mod tests;
