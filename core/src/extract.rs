//! Extractors that answer bad input with a JSON 4xx naming the problem,
//! instead of axum's plain-text rejections. They also refuse text holding
//! U+0000 wherever it comes from (body, path, query): PostgreSQL cannot
//! store it, and no name, title or comment needs it.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::ApiError;

/// `Json<T>` with JSON errors.
pub struct ApiJson<T>(pub T);

/// Does any string of the document (or any key) hold U+0000?
fn holds_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
        _ => false,
    }
}

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let value = match axum::Json::<Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(rej) => return Err(json_rejection(rej)),
        };
        if holds_nul(&value) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_fields",
                "text must not contain the NUL character (U+0000)",
            ));
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let message = if path == "." {
                    e.inner().to_string()
                } else {
                    format!("{path}: {}", e.inner())
                };
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_fields", message)
            })
    }
}

pub fn json_rejection(rej: JsonRejection) -> ApiError {
    match rej {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as `Content-Type: application/json`",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "malformed_json",
            format!("body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_fields",
            e.body_text(),
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            "request body is too large",
        ),
        other => ApiError::new(other.status(), "bad_body", other.body_text()),
    }
}

/// `Query<T>` with JSON errors (an unknown date, a negative limit, ...).
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or_default();
        if raw.contains("%00") || raw.contains('\0') {
            return Err(ApiError::bad_request(
                "invalid_query",
                "the query string must not contain the NUL character (%00)",
            ));
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::bad_request(
                "invalid_query",
                format!("invalid query string: {}", e.body_text()),
            )),
            Err(other) => Err(ApiError::bad_request("invalid_query", other.body_text())),
        }
    }
}

/// `Path<T>` with JSON errors (for example an id that is not a UUID).
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await
            && raw.iter().any(|(_, v)| v.contains('\0'))
        {
            return Err(ApiError::bad_request(
                "invalid_path",
                "a path parameter must not contain the NUL character (%00)",
            ));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::bad_request(
                "invalid_path",
                format!("invalid path parameter: {}", e.body_text()),
            )),
            Err(other) => Err(ApiError::bad_request("invalid_path", other.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_anywhere_in_a_document() {
        assert!(!holds_nul(&serde_json::json!({"a": ["b", 1, {"c": "d"}]})));
        assert!(holds_nul(&serde_json::json!({"a": ["b", {"c": "x\u{0}"}]})));
        assert!(holds_nul(&serde_json::json!({"k\u{0}": 1})));
    }
}
