//! Query results as Apache Arrow record batches, and those as Arrow IPC
//! files or Parquet files for analysts' downloads. ClickHouse 18.16 speaks
//! neither format, so results come as `TabSeparatedWithNamesAndTypes` (which
//! every version speaks) and are converted here by their declared types.

use std::sync::Arc;

use arrow_array::builder::{
    Date32Builder, Float64Builder, Int64Builder, StringBuilder, TimestampSecondBuilder,
    UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use time::{Date, PrimitiveDateTime, format_description::FormatItem, macros::format_description};

use crate::AnalyticsError;

const DATE: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");
const DATETIME: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
/// Julian day number of 1970-01-01 (Arrow dates count days from it).
const UNIX_EPOCH_JULIAN: i32 = 2_440_588;

/// A download format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Arrow,
    Parquet,
}

impl Format {
    pub fn parse(s: Option<&str>) -> Result<Format, AnalyticsError> {
        match s.unwrap_or("arrow") {
            "arrow" => Ok(Format::Arrow),
            "parquet" => Ok(Format::Parquet),
            other => Err(AnalyticsError::BadQuery(format!(
                "`format` must be `arrow` or `parquet`, not {other:?}"
            ))),
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Arrow => "application/vnd.apache.arrow.file",
            Format::Parquet => "application/vnd.apache.parquet",
        }
    }
    pub fn extension(self) -> &'static str {
        match self {
            Format::Arrow => "arrow",
            Format::Parquet => "parquet",
        }
    }
}

enum Column {
    U64(UInt64Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Date(Date32Builder),
    Time(TimestampSecondBuilder),
    Str(StringBuilder),
}

fn column_for(ch_type: &str) -> (DataType, Column) {
    match ch_type {
        "UInt8" | "UInt16" | "UInt32" | "UInt64" => {
            (DataType::UInt64, Column::U64(UInt64Builder::new()))
        }
        "Int8" | "Int16" | "Int32" | "Int64" => (DataType::Int64, Column::I64(Int64Builder::new())),
        "Float32" | "Float64" => (DataType::Float64, Column::F64(Float64Builder::new())),
        "Date" => (DataType::Date32, Column::Date(Date32Builder::new())),
        t if t.starts_with("DateTime") => (
            DataType::Timestamp(TimeUnit::Second, Some("UTC".into())),
            Column::Time(TimestampSecondBuilder::new().with_timezone("UTC")),
        ),
        _ => (DataType::Utf8, Column::Str(StringBuilder::new())),
    }
}

/// Undoes TSV escaping (`\t`, `\n`, `\\` and friends).
fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_string();
    }
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn bad(msg: String) -> AnalyticsError {
    AnalyticsError::Encode(msg)
}

/// Parses a `TabSeparatedWithNamesAndTypes` result into one record batch.
pub fn tsv_to_batch(text: &str) -> Result<RecordBatch, AnalyticsError> {
    let mut lines = text.lines();
    let names: Vec<String> = lines
        .next()
        .ok_or_else(|| bad("the result has no header".into()))?
        .split('\t')
        .map(unescape)
        .collect();
    let types: Vec<String> = lines
        .next()
        .ok_or_else(|| bad("the result has no type line".into()))?
        .split('\t')
        .map(unescape)
        .collect();
    if names.len() != types.len() {
        return Err(bad("header and type line differ in length".into()));
    }
    let (fields, mut columns): (Vec<Field>, Vec<Column>) = names
        .iter()
        .zip(&types)
        .map(|(n, t)| {
            let (dt, col) = column_for(t);
            (Field::new(n, dt, false), col)
        })
        .unzip();
    for (row, line) in lines.enumerate() {
        let values: Vec<&str> = line.split('\t').collect();
        if values.len() != columns.len() {
            return Err(bad(format!("row {row} has {} fields", values.len())));
        }
        for (col, raw) in columns.iter_mut().zip(values) {
            let err = |what: &str| bad(format!("row {row}: {raw:?} is not {what}"));
            match col {
                Column::U64(b) => {
                    b.append_value(raw.parse().map_err(|_| err("an unsigned integer"))?)
                }
                Column::I64(b) => b.append_value(raw.parse().map_err(|_| err("an integer"))?),
                Column::F64(b) => b.append_value(raw.parse().map_err(|_| err("a number"))?),
                Column::Date(b) => {
                    let d = Date::parse(raw, DATE).map_err(|_| err("a date"))?;
                    b.append_value(d.to_julian_day() - UNIX_EPOCH_JULIAN);
                }
                Column::Time(b) => {
                    let t = PrimitiveDateTime::parse(raw, DATETIME).map_err(|_| err("a time"))?;
                    b.append_value(t.assume_utc().unix_timestamp());
                }
                Column::Str(b) => b.append_value(unescape(raw)),
            }
        }
    }
    let arrays: Vec<ArrayRef> = columns
        .into_iter()
        .map(|c| -> ArrayRef {
            match c {
                Column::U64(mut b) => Arc::new(b.finish()),
                Column::I64(mut b) => Arc::new(b.finish()),
                Column::F64(mut b) => Arc::new(b.finish()),
                Column::Date(mut b) => Arc::new(b.finish()),
                Column::Time(mut b) => Arc::new(b.finish()),
                Column::Str(mut b) => Arc::new(b.finish()),
            }
        })
        .collect();
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
}

/// The batch as an Arrow IPC file or a Parquet file.
pub fn encode(batch: &RecordBatch, format: Format) -> Result<Vec<u8>, AnalyticsError> {
    let mut out = Vec::new();
    match format {
        Format::Arrow => {
            let mut w = arrow_ipc::writer::FileWriter::try_new(&mut out, &batch.schema())?;
            w.write(batch)?;
            w.finish()?;
        }
        Format::Parquet => {
            let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None)?;
            w.write(batch)?;
            w.close()?;
        }
    }
    Ok(out)
}

/// A download: `body` as `content_type`, saved as `file`.
pub fn attachment(
    content_type: &'static str,
    file: &str,
    body: Vec<u8>,
) -> Result<axum::response::Response, AnalyticsError> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .map_err(|_| AnalyticsError::Encode("bad file name".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Array, Date32Array, StringArray, UInt64Array};

    const SAMPLE: &str = "day\tdomain\tlisteners\nDate\tString\tUInt64\n2026-11-01\tex\\tample.org\t3\n2026-11-02\t\t0\n";

    #[test]
    fn typed_tsv_becomes_typed_columns() {
        let b = tsv_to_batch(SAMPLE).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(b.num_rows(), 2);
        let day = b
            .column(0)
            .as_any()
            .downcast_ref::<Date32Array>()
            .map(|a| a.value(0));
        assert_eq!(day, Some(20_758)); // 2026-11-01
        let dom = b
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .map(|a| a.value(0).to_string());
        assert_eq!(dom.as_deref(), Some("ex\tample.org"));
        let n = b
            .column(2)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .map(|a| a.value(0));
        assert_eq!(n, Some(3));
    }

    #[test]
    fn malformed_results_are_errors_not_panics() {
        assert!(tsv_to_batch("").is_err());
        assert!(tsv_to_batch("a\tb\nUInt64\n").is_err());
        assert!(tsv_to_batch("a\nUInt64\nx\n").is_err());
        assert!(tsv_to_batch("a\nDate\n2026-02-30\n").is_err());
    }

    #[test]
    fn both_formats_encode() {
        let b = tsv_to_batch(SAMPLE).unwrap_or_else(|e| panic!("{e}"));
        let arrow = encode(&b, Format::Arrow).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&arrow[..6], b"ARROW1");
        let pq = encode(&b, Format::Parquet).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(&pq[..4], b"PAR1");
    }
}
