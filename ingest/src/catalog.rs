//! The catalogue: what a cloudcast is and where to stream it.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use uuid::Uuid;

use cloudcast_core::extract::ApiPath;
use cloudcast_core::signing::unix_now;

use crate::{IngestError, IngestState};

#[derive(Debug, Serialize)]
pub struct CloudcastView {
    pub id: Uuid,
    pub title: String,
    /// `processing`, `ready` or `failed`.
    pub status: String,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
    /// Signed, expiring URL of the HLS master playlist; set once ready.
    pub stream_url: Option<String>,
}

/// `GET /api/v1/cloudcasts/{id}`
pub async fn get_cloudcast(
    State(state): State<IngestState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<CloudcastView>, IngestError> {
    let row: Option<(String, String, Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT title, status, duration_ms, error FROM cloudcasts WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.pool)
            .await?;
    let Some((title, status, duration_ms, error)) = row else {
        return Err(IngestError::NotFound("cloudcast"));
    };
    let stream_url = (status == "ready").then(|| {
        format!(
            "{}/stream/{id}/master.m3u8?{}",
            state.config.public_url(),
            state.signer.sign(id, "", unix_now())
        )
    });
    Ok(Json(CloudcastView {
        id,
        title,
        status,
        duration_ms,
        error,
        stream_url,
    }))
}
