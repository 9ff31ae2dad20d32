//! A segment index (`sidx`, ISO/IEC 14496-12 8.16.3) written between the
//! `moov` and the first fragment, so a progressive player (a podcast app,
//! ffmpeg, a browser's `<audio>`) knows the duration and every seek point
//! from the first kilobytes instead of walking the fragments. HLS is not
//! affected: its playlists address the fragments by their (new) offsets.
//!
//! The file is rewritten as `ftyp` + `moov`, the `sidx`, then the fragments
//! back to back; anything else after the `moov` (GStreamer's `mfra`, whose
//! offsets would now be wrong) is dropped.

use std::io::{self, Read, Seek, SeekFrom, Write};

use super::{FragmentIndex, IndexError, index_fragmented_mp4};

#[derive(Debug, thiserror::Error)]
pub enum SidxError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("I/O error while adding a segment index: {0}")]
    Io(#[from] io::Error),
    #[error("{0} fragments are more than one segment index holds (65535)")]
    TooManyFragments(usize),
    #[error("a fragment of {0} bytes is larger than a segment index can name (2^31)")]
    FragmentTooLarge(u64),
    #[error("a fragment's duration does not fit a segment index (2^32 ticks)")]
    FragmentTooLong,
    #[error("the fragments name absolute file offsets, so they cannot be moved")]
    AbsoluteOffsets,
}

/// The `sidx` box for `index`'s fragments, laid out back to back right
/// after it (`first_offset` 0). Version 1: 64-bit times and offsets.
pub fn sidx_box(index: &FragmentIndex) -> Result<Vec<u8>, SidxError> {
    let n = index.segments.len();
    let count = u16::try_from(n).map_err(|_| SidxError::TooManyFragments(n))?;
    let size = 40 + 12 * n;
    let mut b = Vec::with_capacity(size);
    // 40 + 12 * 65535 fits a u32.
    b.extend_from_slice(&(size as u32).to_be_bytes());
    b.extend_from_slice(b"sidx");
    b.extend_from_slice(&[1, 0, 0, 0]); // version 1, flags 0
    b.extend_from_slice(&index.track_id.to_be_bytes()); // reference_ID
    b.extend_from_slice(&index.timescale.to_be_bytes());
    b.extend_from_slice(&index.first_decode_time.to_be_bytes()); // earliest_presentation_time
    b.extend_from_slice(&0u64.to_be_bytes()); // first_offset
    b.extend_from_slice(&0u16.to_be_bytes()); // reserved
    b.extend_from_slice(&count.to_be_bytes());
    for s in &index.segments {
        // reference_type 0 (media), then 31 bits of size.
        let referenced = u32::try_from(s.length)
            .ok()
            .filter(|l| *l < 1 << 31)
            .ok_or(SidxError::FragmentTooLarge(s.length))?;
        let duration = u32::try_from(s.ticks).map_err(|_| SidxError::FragmentTooLong)?;
        b.extend_from_slice(&referenced.to_be_bytes());
        b.extend_from_slice(&duration.to_be_bytes());
        // starts_with_SAP 1, SAP_type 1, SAP_delta_time 0: every AAC frame
        // is a sync sample, so each fragment starts at one.
        b.extend_from_slice(&0x9000_0000u32.to_be_bytes());
    }
    Ok(b)
}

/// Writes `src` to `dst` with a segment index before its fragments (one
/// already there is replaced); returns the bytes written.
pub fn add_sidx<R: Read + Seek, W: Write>(src: &mut R, dst: &mut W) -> Result<u64, SidxError> {
    let index = index_fragmented_mp4(src)?;
    if index.absolute_offsets {
        return Err(SidxError::AbsoluteOffsets);
    }
    let sidx = sidx_box(&index)?;
    let mut written = copy_range(src, dst, 0, index.init_length)?;
    dst.write_all(&sidx)?;
    written += sidx.len() as u64;
    for s in &index.segments {
        written += copy_range(src, dst, s.offset, s.length)?;
    }
    dst.flush()?;
    Ok(written)
}

fn copy_range<R: Read + Seek, W: Write>(
    src: &mut R,
    dst: &mut W,
    offset: u64,
    length: u64,
) -> Result<u64, SidxError> {
    src.seek(SeekFrom::Start(offset))?;
    let n = io::copy(&mut src.by_ref().take(length), dst)?;
    if n != length {
        return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
    }
    Ok(n)
}
