//! Cover art. The owner uploads a PNG, JPEG or WebP picture; it is read
//! and made again as square JPEGs of each size in `keys::PICTURE_SIZES` by
//! `cloudcast-pictures` (type from the bytes, dimensions from the header,
//! bounded decode, metadata gone). The upload itself is not kept. Each
//! upload is a new version under `pictures/<cloudcast>/`, so URLs carrying
//! it can be cached for ever; a cloudcast without a picture shows the
//! default.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::ApiPath;
use cloudcast_core::keys::{self, PICTURE_SIZES};
use cloudcast_core::storage::StorageError;
use cloudcast_core::visibility;

use crate::{CatalogError, CatalogState};

/// The picture shown when a cloudcast has none: a plain record, inline.
const DEFAULT_SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" fill="#1f2430"/><circle cx="50" cy="50" r="34" fill="#11141b"/><circle cx="50" cy="50" r="12" fill="#e0655a"/><circle cx="50" cy="50" r="2" fill="#11141b"/></svg>"##;

/// URLs of each size of a cloudcast's cover (the default's when none).
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PictureUrls {
    /// 100 x 100
    pub small: String,
    /// 300 x 300
    pub medium: String,
    /// 600 x 600
    pub large: String,
}

pub fn urls(cloudcast: Uuid, version: Option<Uuid>) -> PictureUrls {
    let v = version.map_or_else(|| "default".to_string(), |v| v.simple().to_string());
    let url = |size: u32| format!("/api/v1/cloudcasts/{cloudcast}/picture/{size}?v={v}");
    PictureUrls {
        small: url(PICTURE_SIZES[0]),
        medium: url(PICTURE_SIZES[1]),
        large: url(PICTURE_SIZES[2]),
    }
}

/// `PUT /api/v1/cloudcasts/{id}/picture`: the image as the body.
#[utoipa::path(put, path = "/api/v1/cloudcasts/{id}/picture", tag = "cloudcasts",
    summary = "Set a cloudcast's cover picture (PNG, JPEG or WebP)",
    description = "At most `uploads.max_picture_bytes` (8 MiB) and 6000 x 6000 pixels; made again \
        as 100, 300 and 600 px square JPEGs (metadata such as a GPS position is not kept). \
        At most `limits.pictures_per_hour_per_account` pictures and avatars an hour.",
    params(("id" = Uuid, Path, description = "The cloudcast")),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses(
        (status = 200, description = "Stored; the new URLs", body = PictureUrls),
        (status = 403, description = "Not the owner", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast", body = cloudcast_core::apidoc::ErrorBody),
        (status = 413, description = "Too large", body = cloudcast_core::apidoc::ErrorBody),
        (status = 415, description = "Not an image we take, or unreadable, or too many pixels (`unsupported_image`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Reading the picture took longer than 5 s (`picture_too_slow`)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn put(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<axum::Json<PictureUrls>, CatalogError> {
    let access = visibility::load(&state.pool, id)
        .await?
        .filter(|a| a.visible_to(Some(user)))
        .ok_or(CatalogError::NotFound("cloudcast"))?;
    if access.owner_id != user {
        return Err(CatalogError::NotOwner);
    }
    let max = state.max_picture_bytes;
    if body.len() > max {
        return Err(CatalogError::TooLarge(format!(
            "a picture may be at most {max} bytes"
        )));
    }
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let sizes = cloudcast_pictures::squares(body, declared, &PICTURE_SIZES).await?;
    let version = Uuid::now_v7();
    for (size, jpeg) in sizes {
        state
            .storage
            .put_bytes(&keys::picture(id, version, size), jpeg.into(), "image/jpeg")
            .await?;
    }
    let old: Option<Option<Uuid>> = sqlx::query_scalar(
        "UPDATE cloudcasts c SET picture_version = $2, updated_at = now()
           FROM (SELECT picture_version FROM cloudcasts WHERE id = $1 FOR UPDATE) old
          WHERE c.id = $1 RETURNING old.picture_version",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(&state.pool)
    .await?;
    match old {
        None => {
            // Deleted meanwhile: its prefix is gone, and so are these.
            state
                .storage
                .delete_prefix(&keys::picture_prefix(id))
                .await?;
            return Err(CatalogError::NotFound("cloudcast"));
        }
        Some(Some(old)) => {
            for size in PICTURE_SIZES {
                if let Err(e) = state.storage.delete(&keys::picture(id, old, size)).await {
                    tracing::warn!(cloudcast_id = %id, error = %e, "could not delete an old picture");
                }
            }
        }
        Some(None) => {}
    }
    tracing::info!(cloudcast_id = %id, "cover picture set");
    Ok(axum::Json(urls(id, Some(version))))
}

#[derive(sqlx::FromRow)]
struct PictureRow {
    #[sqlx(flatten)]
    access: visibility::Access,
    picture_version: Option<Uuid>,
}

/// `GET /api/v1/cloudcasts/{id}/picture/{size}`
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}/picture/{size}", tag = "cloudcasts",
    summary = "A cloudcast's cover picture (JPEG), or the default (SVG)",
    params(
        ("id" = Uuid, Path, description = "The cloudcast"),
        ("size" = u32, Path, description = "100, 300 or 600")),
    responses(
        (status = 200, description = "The picture",
            content(("image/jpeg"), ("image/svg+xml"))),
        (status = 404, description = "No such cloudcast or size (or not visible to me)", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn get(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath((id, size)): ApiPath<(Uuid, u32)>,
) -> Result<Response, CatalogError> {
    if !PICTURE_SIZES.contains(&size) {
        return Err(CatalogError::NotFound("picture size"));
    }
    let row: Option<PictureRow> = sqlx::query_as(&format!(
        "SELECT {}, picture_version FROM cloudcasts WHERE id = $1",
        visibility::ACCESS_COLUMNS
    ))
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    let Some(PictureRow {
        access,
        picture_version: version,
    }) = row.filter(|r| r.access.visible_to(user))
    else {
        return Err(CatalogError::NotFound("cloudcast"));
    };
    let cache = if access.is_public() {
        "public, max-age=31536000, immutable"
    } else {
        "private, max-age=3600"
    };
    let (body, kind): (Bytes, &str) = match version {
        None => (Bytes::from_static(DEFAULT_SVG.as_bytes()), "image/svg+xml"),
        Some(v) => match state.storage.get_bytes(&keys::picture(id, v, size)).await {
            Ok(b) => (b, "image/jpeg"),
            Err(StorageError::NotFound { .. }) => {
                (Bytes::from_static(DEFAULT_SVG.as_bytes()), "image/svg+xml")
            }
            Err(e) => return Err(e.into()),
        },
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_version() {
        let id = Uuid::from_u128(5);
        assert!(urls(id, None).small.ends_with("/picture/100?v=default"));
        assert!(
            urls(id, Some(Uuid::from_u128(1)))
                .large
                .contains("/picture/600?v=")
        );
    }
}
