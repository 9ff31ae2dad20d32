//! One heartbeat as stored, and its Arrow form (the write-ahead log's
//! segments are Arrow IPC streams of these columns).

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, ListArray, RecordBatch, StringArray, UInt8Array, UInt32Array, UInt64Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};
use serde::Serialize;

/// One heartbeat as stored in `heartbeats` (field order = column order).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "clickhouse", derive(clickhouse::Row))]
pub struct HeartbeatRow {
    /// Server receive time, Unix seconds (`DateTime`).
    pub ts: u32,
    pub cloudcast_id: String,
    /// The cloudcast's tags when the beat arrived (ad-interest aggregates).
    pub tags: Vec<String>,
    pub session_id: String,
    pub seq: u32,
    pub position_ms: u64,
    pub listener_id: String,
    pub user_id: String,
    pub rendition: String,
    pub referrer_domain: String,
    /// IPv4 /24 or IPv6 /48; the whole address is never stored.
    pub ip_prefix: String,
    /// Keyed hash of the whole address; the key rotates daily.
    pub ip_hash: String,
    pub browser: String,
    pub browser_major: String,
    pub os: String,
    /// `desktop`, `mobile`, `tablet`, `bot` or `other`.
    pub device: String,
    pub is_bot: u8,
    /// Personalised-ads consent of the user when the beat arrived.
    pub ads_consent: u8,
    /// The log segment that carried the row to ClickHouse (set by the
    /// shipper); lets a replay see what already arrived.
    pub wal_segment: String,
}

const STRINGS: [&str; 12] = [
    "cloudcast_id",
    "session_id",
    "listener_id",
    "user_id",
    "rendition",
    "referrer_domain",
    "ip_prefix",
    "ip_hash",
    "browser",
    "browser_major",
    "os",
    "device",
];

fn string_of<'a>(r: &'a HeartbeatRow, name: &str) -> &'a str {
    match name {
        "cloudcast_id" => &r.cloudcast_id,
        "session_id" => &r.session_id,
        "listener_id" => &r.listener_id,
        "user_id" => &r.user_id,
        "rendition" => &r.rendition,
        "referrer_domain" => &r.referrer_domain,
        "ip_prefix" => &r.ip_prefix,
        "ip_hash" => &r.ip_hash,
        "browser" => &r.browser,
        "browser_major" => &r.browser_major,
        "os" => &r.os,
        _ => &r.device,
    }
}

fn string_mut<'a>(r: &'a mut HeartbeatRow, name: &str) -> &'a mut String {
    match name {
        "cloudcast_id" => &mut r.cloudcast_id,
        "session_id" => &mut r.session_id,
        "listener_id" => &mut r.listener_id,
        "user_id" => &mut r.user_id,
        "rendition" => &mut r.rendition,
        "referrer_domain" => &mut r.referrer_domain,
        "ip_prefix" => &mut r.ip_prefix,
        "ip_hash" => &mut r.ip_hash,
        "browser" => &mut r.browser,
        "browser_major" => &mut r.browser_major,
        "os" => &mut r.os,
        _ => &mut r.device,
    }
}

/// The segments' schema (`wal_segment` is not in it: it names the file).
pub fn schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("ts", DataType::UInt32, false),
        Field::new("seq", DataType::UInt32, false),
        Field::new("position_ms", DataType::UInt64, false),
        Field::new("is_bot", DataType::UInt8, false),
        Field::new("ads_consent", DataType::UInt8, false),
    ];
    fields.extend(
        STRINGS
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, false)),
    );
    fields.push(Field::new(
        "tags",
        DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        false,
    ));
    Arc::new(Schema::new(fields))
}

pub fn to_batch(rows: &[HeartbeatRow]) -> Result<RecordBatch, ArrowError> {
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.ts))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.seq))),
        Arc::new(UInt64Array::from_iter_values(
            rows.iter().map(|r| r.position_ms),
        )),
        Arc::new(UInt8Array::from_iter_values(rows.iter().map(|r| r.is_bot))),
        Arc::new(UInt8Array::from_iter_values(
            rows.iter().map(|r| r.ads_consent),
        )),
    ];
    for name in STRINGS {
        columns.push(Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| string_of(r, name)),
        )));
    }
    let mut tags = ListBuilder::new(StringBuilder::new());
    for r in rows {
        for t in &r.tags {
            tags.values().append_value(t);
        }
        tags.append(true);
    }
    columns.push(Arc::new(tags.finish()));
    RecordBatch::try_new(schema(), columns)
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, ArrowError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| ArrowError::SchemaError(format!("segment column {name} is missing")))
}

pub fn from_batch(batch: &RecordBatch) -> Result<Vec<HeartbeatRow>, ArrowError> {
    let ts = column::<UInt32Array>(batch, "ts")?;
    let seq = column::<UInt32Array>(batch, "seq")?;
    let pos = column::<UInt64Array>(batch, "position_ms")?;
    let bot = column::<UInt8Array>(batch, "is_bot")?;
    let ads = column::<UInt8Array>(batch, "ads_consent")?;
    let mut rows: Vec<HeartbeatRow> = (0..batch.num_rows())
        .map(|i| HeartbeatRow {
            ts: ts.value(i),
            seq: seq.value(i),
            position_ms: pos.value(i),
            is_bot: bot.value(i),
            ads_consent: ads.value(i),
            // Strings and tags are filled column by column below.
            ..HeartbeatRow::default()
        })
        .collect();
    for name in STRINGS {
        let col = column::<StringArray>(batch, name)?;
        if col.null_count() > 0 {
            return Err(ArrowError::SchemaError(format!(
                "segment column {name} has nulls"
            )));
        }
        for (i, row) in rows.iter_mut().enumerate() {
            *string_mut(row, name) = col.value(i).to_string();
        }
    }
    // Segments written before tags were recorded have no such column.
    if let Some(col) = batch.column_by_name("tags") {
        let list = col
            .as_any()
            .downcast_ref::<ListArray>()
            .ok_or_else(|| ArrowError::SchemaError("segment column tags is not a list".into()))?;
        for (i, row) in rows.iter_mut().enumerate() {
            let values = list.value(i);
            let values = values
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| ArrowError::SchemaError("segment tags are not strings".into()))?;
            row.tags = values.iter().flatten().map(str::to_string).collect();
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn sample(i: u32) -> HeartbeatRow {
        HeartbeatRow {
            ts: 1_795_900_000 + i,
            cloudcast_id: format!("cc-{i}"),
            tags: (0..i % 3).map(|t| format!("tag{t}")).collect(),
            session_id: "s".into(),
            seq: i,
            position_ms: u64::from(i) * 1000,
            listener_id: "a:x".into(),
            user_id: String::new(),
            rendition: "aac_128k".into(),
            referrer_domain: "example.org".into(),
            ip_prefix: "10.0.0.0/24".into(),
            ip_hash: "h".into(),
            browser: "Firefox".into(),
            browser_major: "133".into(),
            os: "Linux".into(),
            device: "desktop".into(),
            is_bot: 0,
            ads_consent: 1,
            wal_segment: String::new(),
        }
    }

    #[test]
    fn rows_survive_the_arrow_round_trip() {
        let rows: Vec<_> = (0..5).map(sample).collect();
        let batch = to_batch(&rows).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(batch.num_rows(), 5);
        assert_eq!(from_batch(&batch).ok(), Some(rows));
    }

    #[test]
    fn segments_without_tags_still_read() {
        let rows: Vec<_> = (0..3).map(sample).collect();
        let batch = to_batch(&rows).unwrap_or_else(|e| panic!("{e}"));
        let idx = batch
            .schema()
            .index_of("tags")
            .unwrap_or_else(|e| panic!("{e}"));
        let mut old = batch.clone();
        old.remove_column(idx);
        let read = from_batch(&old).unwrap_or_else(|e| panic!("{e}"));
        assert!(read.iter().all(|r| r.tags.is_empty()));
        assert_eq!(read[2].cloudcast_id, "cc-2");
    }
}
