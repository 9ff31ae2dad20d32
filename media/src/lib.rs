//! Media formats shared by the transcoder and the stream: the byte-range
//! index of a fragmented MP4 file (`fmp4/`, written once by the worker, with
//! the segment index progressive players seek by)
//! and the HLS playlists rendered from it (`hls.rs`, on every request).
//! Pure code: no I/O beyond the reader handed in, no GStreamer.

pub mod fmp4;
pub mod hls;

pub use fmp4::{FragmentIndex, IndexError, Segment, SidxError, add_sidx, index_fragmented_mp4};
