//! Heartbeats between intake and ClickHouse: the row as stored
//! (`row.rs`, with its Arrow form) and the write-ahead log that makes an
//! accepted beat durable before intake answers (`wal.rs`). Intake appends
//! through [`BeatSender`]; the shipper (analytics) drains [`Segments`].

pub mod metrics;
pub mod row;
pub mod wal;

pub use row::HeartbeatRow;
pub use wal::{BeatSender, Segments, WalConfig, WalError};
