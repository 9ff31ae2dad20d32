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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FragmentIndex {
    /// Length of the init segment (`ftyp` + `moov`, and anything between
    /// them), which always starts at offset 0.
    pub init_length: u64,
    /// Media timescale (ticks per second) of the audio track.
    pub timescale: u32,
    pub segments: Vec<Segment>,
    pub file_size: u64,
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

/// A validated top-level box header.
struct BoxHeader {
    kind: FourCc,
    offset: u64,
    header_len: u64,
    size: u64,
}

impl BoxHeader {
    fn end(&self) -> u64 {
        // Cannot overflow: validated against file_size when read.
        self.offset + self.size
    }
    fn body_len(&self) -> u64 {
        self.size - self.header_len
    }
}

/// Reads the header of the top-level box at `offset`, or `None` at EOF.
fn read_header<R: Read + Seek>(
    r: &mut R,
    offset: u64,
    file_size: u64,
) -> Result<Option<BoxHeader>, IndexError> {
    let remaining = file_size.saturating_sub(offset);
    if remaining == 0 {
        if offset == 0 {
            return Err(IndexError::MissingFtyp {
                found: "an empty file".into(),
            });
        }
        return Ok(None);
    }
    if remaining < 8 {
        if offset == 0 {
            return Err(IndexError::MissingFtyp {
                found: "a file shorter than one box header".into(),
            });
        }
        return Err(IndexError::Truncated {
            box_type: "?".into(),
            offset,
            size: 8,
            file_size,
        });
    }
    r.seek(SeekFrom::Start(offset))?;
    let mut h = [0u8; 8];
    r.read_exact(&mut h)?;
    let size32 = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let kind = [h[4], h[5], h[6], h[7]];
    // Check the magic before the size so random bytes get a clear
    // "not an MP4" rather than a confusing size error.
    if offset == 0 && &kind != b"ftyp" {
        return Err(IndexError::MissingFtyp {
            found: format!("`{}`", fourcc_str(kind)),
        });
    }
    let (size, header_len) = match size32 {
        0 => (remaining, 8), // box extends to end of file
        1 => {
            if remaining < 16 {
                return Err(IndexError::Truncated {
                    box_type: fourcc_str(kind),
                    offset,
                    size: 16,
                    file_size,
                });
            }
            let mut large = [0u8; 8];
            r.read_exact(&mut large)?;
            (u64::from_be_bytes(large), 16)
        }
        n => (u64::from(n), 8),
    };
    if size < header_len {
        return Err(IndexError::InvalidBoxSize {
            box_type: fourcc_str(kind),
            offset,
            size,
        });
    }
    if size > remaining {
        return Err(IndexError::Truncated {
            box_type: fourcc_str(kind),
            offset,
            size,
            file_size,
        });
    }
    Ok(Some(BoxHeader {
        kind,
        offset,
        header_len,
        size,
    }))
}

/// Reads a box body into memory (positioned right after its header).
fn read_body<R: Read + Seek>(r: &mut R, h: &BoxHeader, limit: u64) -> Result<Vec<u8>, IndexError> {
    let len = h.body_len();
    let too_large = || IndexError::BoxTooLarge {
        box_type: fourcc_str(h.kind),
        offset: h.offset,
        size: h.size,
        limit,
    };
    if len > limit {
        return Err(too_large());
    }
    let len = usize::try_from(len).map_err(|_| too_large())?;
    r.seek(SeekFrom::Start(h.offset + h.header_len))?;
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Big-endian cursor over an in-memory box body. Returns `None` on
/// overrun; callers turn that into a `Malformed` error.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        Some(u64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }
    fn fourcc(&mut self) -> Option<FourCc> {
        let b = self.take(4)?;
        Some([b[0], b[1], b[2], b[3]])
    }
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    /// Full-box header: (version, 24-bit flags).
    fn full_box(&mut self) -> Option<(u8, u32)> {
        let v = self.u32()?;
        Some(((v >> 24) as u8, v & 0x00ff_ffff))
    }
}

/// A child box inside an in-memory parent body.
struct Child<'a> {
    kind: FourCc,
    /// Absolute file offset of the child's header (for error messages).
    offset: u64,
    /// Absolute file offset of the child's body.
    body_offset: u64,
    body: &'a [u8],
}

/// Iterates child boxes of a container body located at `base` in the file.
struct Children<'a> {
    buf: &'a [u8],
    pos: usize,
    base: u64,
    parent: FourCc,
}

fn children(parent: FourCc, body: &[u8], base: u64) -> Children<'_> {
    Children {
        buf: body,
        pos: 0,
        base,
        parent,
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Result<Child<'a>, IndexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let result = self.parse_one();
        if result.is_err() {
            // Stop after the first error instead of looping on bad data.
            self.pos = self.buf.len();
        }
        Some(result)
    }
}

impl<'a> Children<'a> {
    fn parse_one(&mut self) -> Result<Child<'a>, IndexError> {
        let start = self.pos;
        let offset = self.base + start as u64;
        let overrun = || malformed(self.parent, self.base, "child box overruns its parent");
        let mut c = Cursor::new(&self.buf[start..]);
        let size32 = c.u32().ok_or_else(overrun)?;
        let kind = c.fourcc().ok_or_else(overrun)?;
        let (size, header_len) = match size32 {
            0 => (self.buf.len() - start, 8),
            1 => {
                let large = c.u64().ok_or_else(overrun)?;
                (usize::try_from(large).map_err(|_| overrun())?, 16)
            }
            n => (usize::try_from(n).map_err(|_| overrun())?, 8),
        };
        if size < header_len {
            return Err(malformed(kind, offset, "box size smaller than its header"));
        }
        let end = start.checked_add(size).ok_or_else(overrun)?;
        let body = self.buf.get(start + header_len..end).ok_or_else(overrun)?;
        self.pos = end;
        Ok(Child {
            kind,
            offset,
            body_offset: offset + header_len as u64,
            body,
        })
    }
}

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
) -> Result<(u32, u64), IndexError> {
    let mut samples: u32 = 0;
    let mut ticks: u64 = 0;
    let mut found_track = false;
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
        let (track_id, tfhd_duration) = parse_tfhd(tfhd)?;
        if track_id != moov.track_id {
            continue;
        }
        found_track = true;
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
    Ok((samples, ticks))
}

/// Returns (track_ID, default_sample_duration if flag 0x08 is set).
fn parse_tfhd(tfhd: &Child<'_>) -> Result<(u32, Option<u32>), IndexError> {
    let bad = || malformed(tfhd.kind, tfhd.offset, "box too short for its flags");
    let mut c = Cursor::new(tfhd.body);
    let (_, flags) = c.full_box().ok_or_else(bad)?;
    let track_id = c.u32().ok_or_else(bad)?;
    if flags & 0x01 != 0 {
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
    Ok((track_id, duration))
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
                let (samples, ticks) = parse_moof(&body, h.offset + h.header_len, h.offset, info)?;
                seen_moof = true;
                pending = Some((h, samples, ticks));
            }
            b"mdat" => {
                if seen_moof {
                    return Err(IndexError::MdatWithoutMoof { offset: h.offset });
                }
                early_mdat.get_or_insert(h.offset);
            }
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor as IoCursor;

    const TS: u32 = 44_100;

    fn bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let size = u32::try_from(body.len() + 8).expect("test box fits u32");
        let mut v = size.to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    /// Box with a 64-bit `largesize` header (size field == 1).
    fn large_bx(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = 1u32.to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(&(body.len() as u64 + 16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn full(kind: &[u8; 4], version: u8, flags: u32, body: &[u8]) -> Vec<u8> {
        let mut b = ((u32::from(version) << 24) | flags).to_be_bytes().to_vec();
        b.extend_from_slice(body);
        bx(kind, &b)
    }

    fn u32s(vals: &[u32]) -> Vec<u8> {
        vals.iter().flat_map(|v| v.to_be_bytes()).collect()
    }

    fn ftyp() -> Vec<u8> {
        bx(b"ftyp", b"iso6\0\0\0\0iso6mp41")
    }

    fn trak(track_id: u32, handler: &[u8; 4], mdhd_version: u8, timescale: u32) -> Vec<u8> {
        let tkhd = full(b"tkhd", 0, 7, &u32s(&[0, 0, track_id, 0, 0]));
        let mdhd_body = if mdhd_version == 1 {
            let mut b = vec![0u8; 16];
            b.extend(u32s(&[timescale, 0, 0, 0]));
            b
        } else {
            u32s(&[0, 0, timescale, 0, 0])
        };
        let mdhd = full(b"mdhd", mdhd_version, 0, &mdhd_body);
        let mut hdlr_body = u32s(&[0]);
        hdlr_body.extend_from_slice(handler);
        hdlr_body.extend(u32s(&[0, 0, 0]));
        hdlr_body.push(0);
        let hdlr = full(b"hdlr", 0, 0, &hdlr_body);
        let mdia = bx(b"mdia", &[mdhd, hdlr].concat());
        bx(b"trak", &[tkhd, mdia].concat())
    }

    fn moov_with(traks: &[Vec<u8>], trex_duration: u32) -> Vec<u8> {
        let mvhd = full(b"mvhd", 0, 0, &[0u8; 96]);
        let trex = full(b"trex", 0, 0, &u32s(&[1, 1, trex_duration, 0, 0]));
        let mvex = bx(b"mvex", &trex);
        let mut body = mvhd;
        for t in traks {
            body.extend_from_slice(t);
        }
        body.extend(mvex);
        bx(b"moov", &body)
    }

    fn moov(trex_duration: u32) -> Vec<u8> {
        moov_with(&[trak(1, b"soun", 0, TS)], trex_duration)
    }

    /// `moof` whose trun carries per-sample durations (and sizes, like GStreamer).
    fn moof_per_sample(track_id: u32, durations: &[u32]) -> Vec<u8> {
        let tfhd = full(b"tfhd", 0, 0x02_0000, &u32s(&[track_id]));
        let mut trun_body = u32s(&[durations.len() as u32, 0]);
        for d in durations {
            trun_body.extend(u32s(&[*d, 300]));
        }
        let trun = full(b"trun", 0, 0x301, &trun_body);
        moof_from(&tfhd, &trun)
    }

    /// `moof` whose trun has only a sample count (no per-sample durations).
    fn moof_count_only(tfhd_duration: Option<u32>, count: u32) -> Vec<u8> {
        let tfhd = match tfhd_duration {
            // Also set base_data_offset + sample_description_index so the
            // optional-field skipping is exercised.
            Some(d) => {
                let mut b = u32s(&[1, 0, 0, 1, d]);
                b.extend(u32s(&[0]));
                full(b"tfhd", 0, 0x01 | 0x02 | 0x08 | 0x10, &b)
            }
            None => full(b"tfhd", 0, 0, &u32s(&[1])),
        };
        let trun = full(b"trun", 0, 0x001, &u32s(&[count, 0]));
        moof_from(&tfhd, &trun)
    }

    fn moof_from(tfhd: &[u8], trun: &[u8]) -> Vec<u8> {
        let mfhd = full(b"mfhd", 0, 0, &u32s(&[1]));
        let tfdt = full(b"tfdt", 1, 0, &[0u8; 8]);
        let traf = bx(b"traf", &[tfhd, &tfdt, trun].concat());
        bx(b"moof", &[mfhd, traf].concat())
    }

    fn mdat(len: usize) -> Vec<u8> {
        bx(b"mdat", &vec![0xAB; len])
    }

    fn index(bytes: &[u8]) -> Result<FragmentIndex, IndexError> {
        index_fragmented_mp4(&mut IoCursor::new(bytes))
    }

    #[test]
    fn trun_per_sample_durations() {
        let head = [ftyp(), moov(0)].concat();
        let moof1 = moof_per_sample(1, &[1024, 1024, 1024]);
        let mdat1 = mdat(900);
        let moof2 = moof_per_sample(1, &[1024, 512]);
        let mdat2 = mdat(600);
        let mfra = bx(b"mfra", &[0u8; 8]);
        let file = [
            head.clone(),
            moof1.clone(),
            mdat1.clone(),
            moof2.clone(),
            mdat2.clone(),
            mfra,
        ]
        .concat();
        let idx = index(&file).expect("valid file");
        assert_eq!(idx.init_length, head.len() as u64);
        assert_eq!(idx.timescale, TS);
        assert_eq!(idx.file_size, file.len() as u64);
        assert_eq!(idx.segments.len(), 2);
        let s1 = &idx.segments[0];
        assert_eq!(s1.offset, head.len() as u64);
        assert_eq!(s1.length, (moof1.len() + mdat1.len()) as u64);
        assert_eq!((s1.samples, s1.ticks), (3, 3072));
        assert_eq!(s1.duration_ms, 70); // 3072/44100 s = 69.66 ms
        let s2 = &idx.segments[1];
        assert_eq!(s2.offset, s1.offset + s1.length);
        assert_eq!(s2.length, (moof2.len() + mdat2.len()) as u64);
        assert_eq!((s2.samples, s2.ticks), (2, 1536));
        assert_eq!(idx.duration_ms(), 104); // 4608/44100 s = 104.49 ms
    }

    #[test]
    fn tfhd_default_duration_beats_trex() {
        let file = [
            ftyp(),
            moov(999),
            moof_count_only(Some(1024), 10),
            mdat(100),
        ]
        .concat();
        let idx = index(&file).expect("valid file");
        assert_eq!(idx.segments[0].samples, 10);
        assert_eq!(idx.segments[0].ticks, 10_240);
    }

    #[test]
    fn trex_default_duration() {
        let file = [ftyp(), moov(1024), moof_count_only(None, 7), mdat(100)].concat();
        let idx = index(&file).expect("valid file");
        assert_eq!((idx.segments[0].samples, idx.segments[0].ticks), (7, 7168));
    }

    #[test]
    fn missing_any_duration_is_an_error() {
        // trex duration 0 counts as "present"; use a moov without mvex instead.
        let mvhd = full(b"mvhd", 0, 0, &[0u8; 96]);
        let moov = bx(b"moov", &[mvhd, trak(1, b"soun", 0, TS)].concat());
        let file = [ftyp(), moov, moof_count_only(None, 7), mdat(100)].concat();
        assert!(matches!(
            index(&file),
            Err(IndexError::MissingSampleDuration { .. })
        ));
    }

    #[test]
    fn largesize_and_size_zero_boxes() {
        let head = [ftyp(), moov(0)].concat();
        let moof1 = moof_per_sample(1, &[1024; 4]);
        let mdat1 = large_bx(b"mdat", &[1u8; 500]);
        let moof2 = moof_per_sample(1, &[1024; 2]);
        // size == 0: the last mdat runs to end of file.
        let mut mdat2 = mdat(50);
        mdat2[..4].copy_from_slice(&0u32.to_be_bytes());
        let file = [
            head.clone(),
            moof1.clone(),
            mdat1.clone(),
            moof2.clone(),
            mdat2,
        ]
        .concat();
        let idx = index(&file).expect("valid file");
        assert_eq!(idx.segments.len(), 2);
        assert_eq!(idx.segments[0].length, (moof1.len() + 516) as u64);
        assert_eq!(idx.segments[1].length, (moof2.len() + 58) as u64);
        let last = &idx.segments[1];
        assert_eq!(last.offset + last.length, idx.file_size);
    }

    #[test]
    fn mdhd_version_1_and_non_audio_tracks() {
        // Video track first (id 1), audio second (id 2): the audio trak's
        // timescale is used and the video traf is skipped.
        let moov = moov_with(
            &[trak(1, b"vide", 0, 90_000), trak(2, b"soun", 1, 48_000)],
            0,
        );
        let video = moof_per_sample(1, &[3000; 5]);
        let audio = moof_per_sample(2, &[1024; 3]);
        let mfhd = full(b"mfhd", 0, 0, &u32s(&[1]));
        // A moof containing both trafs: take the traf children of each.
        let traf_of = |m: &[u8]| m[8 + mfhd.len()..].to_vec();
        let moof = bx(
            b"moof",
            &[mfhd.clone(), traf_of(&video), traf_of(&audio)].concat(),
        );
        let file = [ftyp(), moov, moof, mdat(10)].concat();
        let idx = index(&file).expect("valid file");
        assert_eq!(idx.timescale, 48_000);
        assert_eq!((idx.segments[0].samples, idx.segments[0].ticks), (3, 3072));
        assert_eq!(idx.duration_ms(), 64);
    }

    #[test]
    fn truncated_file() {
        let file = [ftyp(), moov(0), moof_per_sample(1, &[1024; 3]), mdat(1000)].concat();
        for cut in [file.len() - 1, file.len() - 1000, 40] {
            let err = index(&file[..cut]).expect_err("truncated");
            assert!(matches!(err, IndexError::Truncated { .. }), "{cut}: {err}");
        }
        // Cut inside a box header.
        let cut = file.len() - 1008 + 3;
        assert!(matches!(
            index(&file[..cut]),
            Err(IndexError::Truncated { .. })
        ));
    }

    #[test]
    fn moof_without_mdat() {
        let moof = moof_per_sample(1, &[1024; 3]);
        let at_end = [ftyp(), moov(0), moof.clone()].concat();
        let err = index(&at_end).expect_err("no mdat");
        assert!(matches!(err, IndexError::MoofWithoutMdat { .. }));
        let twice = [ftyp(), moov(0), moof.clone(), moof, mdat(10)].concat();
        assert!(matches!(
            index(&twice),
            Err(IndexError::MoofWithoutMdat { .. })
        ));
        let mdat_alone = [
            ftyp(),
            moov(0),
            moof_per_sample(1, &[1024]),
            mdat(10),
            mdat(10),
        ]
        .concat();
        assert!(matches!(
            index(&mdat_alone),
            Err(IndexError::MdatWithoutMoof { .. })
        ));
    }

    #[test]
    fn garbage_and_empty_input() {
        let garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let err = index(&garbage).expect_err("garbage");
        assert!(matches!(err, IndexError::MissingFtyp { .. }));
        assert!(err.to_string().contains("not an MP4"), "{err}");
        assert!(matches!(index(&[]), Err(IndexError::MissingFtyp { .. })));
        assert!(matches!(
            index(b"ftyp"),
            Err(IndexError::MissingFtyp { .. })
        ));
    }

    #[test]
    fn structural_errors() {
        // Plain MP4: moov + mdat, no fragments.
        let plain = [ftyp(), moov(0), mdat(100)].concat();
        assert!(matches!(index(&plain), Err(IndexError::NotFragmented)));
        let no_moov = [ftyp(), moof_per_sample(1, &[1024]), mdat(10)].concat();
        assert!(matches!(index(&no_moov), Err(IndexError::MissingMoov)));
        let no_audio = [
            ftyp(),
            moov_with(&[trak(1, b"vide", 0, 90_000)], 0),
            moof_per_sample(1, &[1024]),
            mdat(10),
        ]
        .concat();
        assert!(matches!(index(&no_audio), Err(IndexError::NoAudioTrack)));
        let zero_ts = [
            ftyp(),
            moov_with(&[trak(1, b"soun", 0, 0)], 0),
            moof_per_sample(1, &[1024]),
            mdat(10),
        ]
        .concat();
        assert!(matches!(index(&zero_ts), Err(IndexError::NoTimescale)));
        // Box size smaller than its own header.
        let mut tiny = ftyp();
        tiny.extend(4u32.to_be_bytes());
        tiny.extend(b"free");
        assert!(matches!(
            index(&tiny),
            Err(IndexError::InvalidBoxSize { .. })
        ));
    }

    #[test]
    fn bogus_trun_sample_count_is_malformed() {
        let tfhd = full(b"tfhd", 0, 0, &u32s(&[1]));
        let trun = full(b"trun", 0, 0x300, &u32s(&[u32::MAX, 1024, 10]));
        let file = [ftyp(), moov(0), moof_from(&tfhd, &trun), mdat(10)].concat();
        let err = index(&file).expect_err("bogus count");
        assert!(matches!(err, IndexError::Malformed { .. }), "{err}");
        // A child box overrunning its parent.
        let mut bad_moof = moof_per_sample(1, &[1024]);
        bad_moof[8..12].copy_from_slice(&1000u32.to_be_bytes());
        let file = [ftyp(), moov(0), bad_moof, mdat(10)].concat();
        assert!(matches!(index(&file), Err(IndexError::Malformed { .. })));
    }

    #[test]
    fn bandwidth_and_durations() {
        let idx = FragmentIndex {
            init_length: 100,
            timescale: 1000,
            segments: vec![
                Segment {
                    offset: 100,
                    length: 6000,
                    duration_ms: 6000,
                    samples: 1,
                    ticks: 6000,
                },
                Segment {
                    offset: 6100,
                    length: 3000,
                    duration_ms: 2000,
                    samples: 1,
                    ticks: 2000,
                },
                Segment {
                    offset: 9100,
                    length: 77,
                    duration_ms: 0,
                    samples: 0,
                    ticks: 0,
                },
            ],
            file_size: 9177,
        };
        assert_eq!(idx.duration_ms(), 8000);
        // 6000*8/6 = 8000; 3000*8/2 = 12000; zero-duration segment ignored.
        assert_eq!(idx.peak_bandwidth(), 12_000);
        assert_eq!(idx.average_bandwidth(), (9077 * 8 * 1000 + 4000) / 8000);
        assert!((idx.max_segment_duration_secs() - 6.0).abs() < 1e-9);

        let empty = FragmentIndex {
            init_length: 0,
            timescale: 0,
            segments: vec![],
            file_size: 0,
        };
        assert_eq!(empty.duration_ms(), 0);
        assert_eq!(empty.peak_bandwidth(), 0);
        assert_eq!(empty.average_bandwidth(), 0);
        assert_eq!(empty.max_segment_duration_secs(), 0.0);
    }
}
