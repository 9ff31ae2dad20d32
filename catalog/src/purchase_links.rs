//! Purchase links: the only things recorded are how many times
//! each link was used and how many purchases partners confirmed for it.
//! Who clicked is never stored: the counter is a bare number.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_core::auth::{AdminUser, MaybeUser};
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::visibility;

use crate::{CatalogError, CatalogState};

/// Most purchases one confirmation may add (a partner batches a day's
/// sales; a bigger number is a bug on their side, not a sale).
const MAX_PURCHASES_PER_CALL: i64 = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct LinkCount {
    pub index: usize,
    pub label: String,
    pub url: String,
    pub clicks: i64,
    pub purchases: i64,
}

#[derive(Debug, Deserialize)]
struct Link {
    #[serde(default)]
    label: String,
    url: String,
}

async fn links_of(pool: &sqlx::PgPool, id: Uuid) -> Result<Vec<Link>, CatalogError> {
    let row: Option<(serde_json::Value,)> =
        sqlx::query_as("SELECT purchase_links FROM cloudcasts WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let Some((links,)) = row else {
        return Err(CatalogError::NotFound("cloudcast"));
    };
    // The catalog validated the list when it was saved; an entry that no
    // longer parses is skipped rather than failing the whole answer.
    Ok(match links {
        serde_json::Value::Array(items) => items
            .into_iter()
            .map(|v| {
                serde_json::from_value(v).unwrap_or(Link {
                    label: String::new(),
                    url: String::new(),
                })
            })
            .collect(),
        _ => Vec::new(),
    })
}

/// Each link of the cloudcast with its counts (zero when never used).
pub async fn counts(pool: &sqlx::PgPool, id: Uuid) -> Result<Vec<LinkCount>, CatalogError> {
    let links = links_of(pool, id).await?;
    let rows: Vec<(i32, i64, i64)> = sqlx::query_as(
        "SELECT link_index, clicks, purchases FROM purchase_link_counts WHERE cloudcast_id = $1",
    )
    .bind(id)
    .fetch_all(pool)
    .await?;
    Ok(links
        .into_iter()
        .enumerate()
        .map(|(index, l)| {
            let (clicks, purchases) = rows
                .iter()
                .find(|r| usize::try_from(r.0).ok() == Some(index))
                .map(|r| (r.1, r.2))
                .unwrap_or((0, 0));
            LinkCount {
                index,
                label: l.label,
                url: l.url,
                clicks,
                purchases,
            }
        })
        .collect())
}

fn index_of(n: usize, links: &[Link]) -> Result<i32, CatalogError> {
    match (links.get(n), i32::try_from(n)) {
        (Some(l), Ok(i)) if !l.url.is_empty() => Ok(i),
        _ => Err(CatalogError::NotFound("purchase link")),
    }
}

/// `GET /api/v1/cloudcasts/{id}/links/{n}`: counts one use of the link and
/// redirects to the shop.
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}/links/{n}", tag = "cloudcasts",
    summary = "Follow a purchase link (counted, then redirected to the shop)",
    params(
        ("id" = Uuid, Path, description = "The cloudcast"),
        ("n" = usize, Path, maximum = 9, description = "The link's index in the cloudcast's purchase links, from 0 (a cloudcast has at most 10)")),
    responses(
        (status = 302, description = "Redirect to the shop; only the use count is recorded",
            headers(("Location" = String, description = "The shop's URL"))),
        (status = 401, description = "The token is unknown or expired", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast or link", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn follow(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath((id, n)): ApiPath<(Uuid, usize)>,
) -> Result<Response, CatalogError> {
    match visibility::load(&state.pool, id).await? {
        Some(a) if a.visible_to(user) => {}
        _ => return Err(CatalogError::NotFound("cloudcast")),
    }
    let links = links_of(&state.pool, id).await?;
    let index = index_of(n, &links)?;
    let location = HeaderValue::from_str(&links[n].url)
        .map_err(|_| CatalogError::NotFound("purchase link"))?;
    sqlx::query(
        "INSERT INTO purchase_link_counts (cloudcast_id, link_index, clicks) VALUES ($1, $2, 1)
         ON CONFLICT (cloudcast_id, link_index) DO UPDATE
           SET clicks = purchase_link_counts.clicks + 1",
    )
    .bind(id)
    .bind(index)
    .execute(&state.pool)
    .await?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, location),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Purchases {
    /// Purchases to add: 1 to 10000.
    #[schema(minimum = 1, maximum = 10000)]
    pub count: i64,
}

/// `POST /api/v1/cloudcasts/{id}/links/{n}/purchases` `{"count": n}`: a
/// partner's confirmation of purchases made through the link, relayed by an
/// admin integration. Only the number is kept.
#[utoipa::path(post, path = "/api/v1/cloudcasts/{id}/links/{n}/purchases", tag = "cloudcasts",
    summary = "Confirm purchases made through a purchase link",
    description = "Administrators only (a partner's confirmation, relayed by an admin \
        integration). Adds `count` (1 to 10000) to the link's purchases; only the number is kept.",
    params(
        ("id" = Uuid, Path, description = "The cloudcast"),
        ("n" = usize, Path, maximum = 9, description = "The link's index in the cloudcast's purchase links, from 0 (a cloudcast has at most 10)")),
    request_body = Purchases,
    responses(
        (status = 200, description = "The link with its updated counts", body = LinkCount),
        (status = 400, description = "`count` out of range", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast or link", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Bad body", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn confirm_purchases(
    State(state): State<CatalogState>,
    ApiPath((id, n)): ApiPath<(Uuid, usize)>,
    AdminUser(_admin): AdminUser,
    ApiJson(body): ApiJson<Purchases>,
) -> Result<Json<LinkCount>, CatalogError> {
    if !(1..=MAX_PURCHASES_PER_CALL).contains(&body.count) {
        return Err(CatalogError::BadRequest(format!(
            "`count` must be between 1 and {MAX_PURCHASES_PER_CALL}"
        )));
    }
    let links = links_of(&state.pool, id).await?;
    let index = index_of(n, &links)?;
    sqlx::query(
        "INSERT INTO purchase_link_counts (cloudcast_id, link_index, purchases) VALUES ($1, $2, $3)
         ON CONFLICT (cloudcast_id, link_index) DO UPDATE
           SET purchases = purchase_link_counts.purchases + EXCLUDED.purchases",
    )
    .bind(id)
    .bind(index)
    .bind(body.count)
    .execute(&state.pool)
    .await?;
    counts(&state.pool, id)
        .await?
        .into_iter()
        .nth(n)
        .map(Json)
        .ok_or(CatalogError::NotFound("purchase link"))
}
