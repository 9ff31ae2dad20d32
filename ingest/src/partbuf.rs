//! Part buffers for uploads, mapped straight from the kernel (anonymous
//! mmap) instead of the heap: a multi-MiB part is unmapped the moment S3 has
//! it, whatever the allocator's habit of keeping freed memory for reuse, so
//! an ingest node's memory stays at the parts in flight.

use bytes::Bytes;
use memmap2::MmapMut;

use crate::IngestError;

pub struct PartBuf {
    map: MmapMut,
    len: usize,
}

/// A filled buffer handed to `Bytes` without a copy; unmapped on drop.
struct Filled {
    map: MmapMut,
    len: usize,
}

impl AsRef<[u8]> for Filled {
    fn as_ref(&self) -> &[u8] {
        &self.map[..self.len]
    }
}

impl PartBuf {
    pub fn new(capacity: usize) -> Result<PartBuf, IngestError> {
        let map = MmapMut::map_anon(capacity.max(1)).map_err(IngestError::PartBuffer)?;
        Ok(PartBuf { map, len: 0 })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len == self.map.len()
    }

    /// Copies as much of `data` as fits; returns how much that was.
    pub fn fill(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.map.len() - self.len);
        self.map[self.len..self.len + n].copy_from_slice(&data[..n]);
        self.len += n;
        n
    }

    pub fn freeze(self) -> Bytes {
        if self.len == 0 {
            return Bytes::new();
        }
        Bytes::from_owner(Filled {
            map: self.map,
            len: self.len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_up_to_capacity_and_freezes_what_was_written() {
        let Ok(mut b) = PartBuf::new(10) else {
            panic!("mmap failed")
        };
        assert!(b.is_empty());
        assert_eq!(b.fill(b"hello"), 5);
        assert_eq!(b.fill(b"wonderful"), 5);
        assert!(b.is_full());
        assert_eq!(b.fill(b"more"), 0);
        assert_eq!(&b.freeze()[..], b"hellowonde");
        let Ok(empty) = PartBuf::new(10) else {
            panic!("mmap failed")
        };
        assert!(empty.freeze().is_empty());
    }
}
