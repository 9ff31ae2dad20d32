//! Reading ISO-BMFF boxes: a box's header (32- and 64-bit sizes, to the end
//! of the file), a bounded body, and the children of a container box, as
//! the fragment index (`mod.rs`) walks them.

use super::*;

/// A validated top-level box header.
pub(super) struct BoxHeader {
    pub(super) kind: FourCc,
    pub(super) offset: u64,
    pub(super) header_len: u64,
    pub(super) size: u64,
}

impl BoxHeader {
    pub(super) fn end(&self) -> u64 {
        // Cannot overflow: validated against file_size when read.
        self.offset + self.size
    }
    pub(super) fn body_len(&self) -> u64 {
        self.size - self.header_len
    }
}

/// Reads the header of the top-level box at `offset`, or `None` at EOF.
pub(super) fn read_header<R: Read + Seek>(
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
pub(super) fn read_body<R: Read + Seek>(
    r: &mut R,
    h: &BoxHeader,
    limit: u64,
) -> Result<Vec<u8>, IndexError> {
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
pub(super) struct Cursor<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }
    pub(super) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    pub(super) fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }
    pub(super) fn u32(&mut self) -> Option<u32> {
        let b = self.take(4)?;
        Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(super) fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        Some(u64::from_be_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }
    pub(super) fn fourcc(&mut self) -> Option<FourCc> {
        let b = self.take(4)?;
        Some([b[0], b[1], b[2], b[3]])
    }
    pub(super) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
    /// Full-box header: (version, 24-bit flags).
    pub(super) fn full_box(&mut self) -> Option<(u8, u32)> {
        let v = self.u32()?;
        Some(((v >> 24) as u8, v & 0x00ff_ffff))
    }
}

/// A child box inside an in-memory parent body.
pub(super) struct Child<'a> {
    pub(super) kind: FourCc,
    /// Absolute file offset of the child's header (for error messages).
    pub(super) offset: u64,
    /// Absolute file offset of the child's body.
    pub(super) body_offset: u64,
    pub(super) body: &'a [u8],
}

/// Iterates child boxes of a container body located at `base` in the file.
pub(super) struct Children<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
    pub(super) base: u64,
    pub(super) parent: FourCc,
}

pub(super) fn children(parent: FourCc, body: &[u8], base: u64) -> Children<'_> {
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
    pub(super) fn parse_one(&mut self) -> Result<Child<'a>, IndexError> {
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
