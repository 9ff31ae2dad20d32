//! tus 1.0.0 protocol details (<https://tus.io/protocols/resumable-upload>):
//! header names, parsing and the part-size rule. Pure functions, unit-tested.

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::IngestError;

pub const TUS_VERSION: &str = "1.0.0";
pub const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,expiration";
pub const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

pub static TUS_RESUMABLE: HeaderName = HeaderName::from_static("tus-resumable");
pub static TUS_VERSION_H: HeaderName = HeaderName::from_static("tus-version");
pub static TUS_EXTENSION_H: HeaderName = HeaderName::from_static("tus-extension");
pub static TUS_MAX_SIZE: HeaderName = HeaderName::from_static("tus-max-size");
pub static UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
pub static UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
pub static UPLOAD_METADATA: HeaderName = HeaderName::from_static("upload-metadata");
pub static UPLOAD_EXPIRES: HeaderName = HeaderName::from_static("upload-expires");

/// S3 allows at most this many parts per multipart upload.
pub const MAX_PARTS: u64 = 10_000;
const MIB: u64 = 1024 * 1024;

/// Part size for an upload of `length` bytes: at least `min_part`, and large
/// enough that the upload fits in 10,000 parts; rounded up to whole MiB.
pub fn part_size(length: u64, min_part: u64) -> u64 {
    let needed = length.div_ceil(MAX_PARTS);
    let size = needed.max(min_part).max(5 * MIB);
    size.div_ceil(MIB) * MIB
}

/// Checks `Tus-Resumable: 1.0.0` (required on every request but OPTIONS).
pub fn check_resumable(headers: &HeaderMap) -> Result<(), IngestError> {
    match headers.get(&TUS_RESUMABLE).map(|v| v.as_bytes()) {
        Some(b"1.0.0") => Ok(()),
        _ => Err(IngestError::TusVersion),
    }
}

/// Reads a non-negative integer header such as `Upload-Length`.
pub fn u64_header(headers: &HeaderMap, name: &HeaderName) -> Result<Option<u64>, IngestError> {
    let Some(v) = headers.get(name) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| IngestError::BadTusRequest(format!("{name} is not valid text")))?;
    // tus requires plain non-negative decimal integers; reject "+5", " 5", "-1".
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IngestError::BadTusRequest(format!(
            "{name} must be a non-negative integer, got {s:?}"
        )));
    }
    s.parse::<u64>()
        .map(Some)
        .map_err(|_| IngestError::BadTusRequest(format!("{name} is out of range")))
}

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs (value optional).
pub fn parse_metadata(value: &str) -> Result<HashMap<String, String>, IngestError> {
    let mut out = HashMap::new();
    for pair in value.split(',') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let mut it = pair.splitn(2, ' ');
        let key = it.next().unwrap_or_default();
        if key.is_empty() || !key.is_ascii() || key.contains(char::is_whitespace) {
            return Err(IngestError::BadTusRequest(format!(
                "Upload-Metadata key {key:?} is not valid"
            )));
        }
        let decoded = match it.next().map(str::trim) {
            None | Some("") => String::new(),
            Some(b64) => {
                let bytes = STANDARD.decode(b64).map_err(|_| {
                    IngestError::BadTusRequest(format!(
                        "Upload-Metadata value of {key:?} is not base64"
                    ))
                })?;
                String::from_utf8(bytes).map_err(|_| {
                    IngestError::BadTusRequest(format!(
                        "Upload-Metadata value of {key:?} is not UTF-8"
                    ))
                })?
            }
        };
        if out.insert(key.to_string(), decoded).is_some() {
            return Err(IngestError::BadTusRequest(format!(
                "Upload-Metadata key {key:?} appears twice"
            )));
        }
    }
    Ok(out)
}

/// Headers every tus response carries.
pub fn base_headers(headers: &mut HeaderMap) {
    headers.insert(TUS_RESUMABLE.clone(), HeaderValue::from_static(TUS_VERSION));
    headers.insert(
        axum::http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_respects_s3_limits() {
        assert_eq!(part_size(100, 8 * MIB), 8 * MIB);
        assert_eq!(part_size(100, 1), 5 * MIB);
        let huge = 200 * 1024 * MIB; // 200 GiB
        let p = part_size(huge, 8 * MIB);
        assert!(huge.div_ceil(p) <= MAX_PARTS);
        assert_eq!(p % MIB, 0);
    }

    #[test]
    fn metadata_is_decoded() {
        let m = parse_metadata("filename bWl4Lm1wMw==,title TXkgbWl4,is_confidential")
            .unwrap_or_default();
        assert_eq!(m.get("filename").map(String::as_str), Some("mix.mp3"));
        assert_eq!(m.get("title").map(String::as_str), Some("My mix"));
        assert_eq!(m.get("is_confidential").map(String::as_str), Some(""));
        assert!(parse_metadata("title !!!").is_err());
        assert!(parse_metadata("a YQ==,a YQ==").is_err());
    }

    #[test]
    fn integer_headers_are_strict() {
        let mut h = HeaderMap::new();
        h.insert(UPLOAD_LENGTH.clone(), HeaderValue::from_static("-1"));
        assert!(u64_header(&h, &UPLOAD_LENGTH).is_err());
        h.insert(UPLOAD_LENGTH.clone(), HeaderValue::from_static("42"));
        assert_eq!(u64_header(&h, &UPLOAD_LENGTH).ok().flatten(), Some(42));
        h.insert(
            UPLOAD_LENGTH.clone(),
            HeaderValue::from_static("99999999999999999999999"),
        );
        assert!(u64_header(&h, &UPLOAD_LENGTH).is_err());
    }
}
