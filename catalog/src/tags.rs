//! Tags: the list of tags (by how many listed cloudcasts carry them, or
//! by name) and a tag's page. `cloudcast_tags` (kept by a trigger) makes a
//! tag page one index range; `tag_counts` is recounted on a schedule
//! ([`recount`]), a tag new to the catalogue gets its row when first
//! written (migration 0016), and a tag is shown only while a listed
//! cloudcast still carries it, so a tag appears with its first listed
//! cloudcast and vanishes at once with its last.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};

use cloudcast_core::auth::MaybeUser;
use cloudcast_core::extract::{ApiPath, ApiQuery};
use cloudcast_core::page::{self, Page};
use cloudcast_core::visibility;

use crate::cards::CloudcastCard;
use crate::lists::{Listing, Sort, chart, tag_param};
use crate::{CatalogError, CatalogState};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TagSort {
    /// Most cloudcasts first.
    #[default]
    Popular,
    /// Alphabetical.
    Name,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TagQuery {
    #[param(inline)]
    pub sort: Option<TagSort>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, serde::Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TagView {
    pub tag: String,
    /// Public cloudcasts carrying it (as last counted, every few minutes).
    pub cloudcasts: i64,
    /// Its page in the API: `/api/v1/tags/{tag}/cloudcasts`, encoded.
    #[sqlx(skip)]
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum TagKey {
    Popular(i64, String),
    Name(String),
}

/// SQL: the `tag_counts` row `tc` still has a listed cloudcast.
fn still_listed() -> String {
    format!(
        "EXISTS (SELECT 1 FROM cloudcast_tags t JOIN cloudcasts c ON c.id = t.cloudcast_id
                  WHERE t.tag = tc.tag AND {})",
        visibility::sql_listed("c")
    )
}

pub(crate) fn with_url(mut t: TagView) -> TagView {
    t.url = format!(
        "/api/v1/tags/{}/cloudcasts",
        crate::lists::urlencode(&t.tag)
    );
    t
}

/// `GET /api/v1/tags?sort=popular|name`
#[utoipa::path(get, path = "/api/v1/tags", tag = "catalogue", operation_id = "tags",
    summary = "Tags of public cloudcasts, most used first or by name",
    params(TagQuery),
    responses(
        (status = 200, description = "A page of tags", body = Listing<TagView>),
        (status = 400, description = "A bad sort, limit or cursor", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn list(
    State(state): State<CatalogState>,
    ApiQuery(q): ApiQuery<TagQuery>,
) -> Result<Json<Listing<TagView>>, CatalogError> {
    let sort = q.sort.unwrap_or_default();
    let page: Page<TagKey> = Page::new(q.limit, q.cursor.as_deref())?;
    let (fetch, limit) = (page.fetch(), page.limit);
    let listed = still_listed();
    let rows: Vec<TagView> = match (sort, page.after) {
        (TagSort::Popular, None) => {
            sqlx::query_as(&format!(
                "SELECT tc.tag, tc.cloudcasts FROM tag_counts tc WHERE {listed}
                  ORDER BY tc.cloudcasts DESC, tc.tag LIMIT $1"
            ))
            .bind(fetch)
            .fetch_all(&state.pool)
            .await?
        }
        (TagSort::Popular, Some(TagKey::Popular(n, tag))) => {
            sqlx::query_as(&format!(
                "SELECT tc.tag, tc.cloudcasts FROM tag_counts tc
                  WHERE {listed} AND (tc.cloudcasts < $2 OR (tc.cloudcasts = $2 AND tc.tag > $3))
                  ORDER BY tc.cloudcasts DESC, tc.tag LIMIT $1"
            ))
            .bind(fetch)
            .bind(n)
            .bind(tag)
            .fetch_all(&state.pool)
            .await?
        }
        (TagSort::Name, after @ (None | Some(TagKey::Name(_)))) => {
            let after = match after {
                Some(TagKey::Name(t)) => t,
                _ => String::new(),
            };
            sqlx::query_as(&format!(
                "SELECT tc.tag, tc.cloudcasts FROM tag_counts tc
                  WHERE {listed} AND tc.tag > $2
                  ORDER BY tc.tag LIMIT $1"
            ))
            .bind(fetch)
            .bind(after)
            .fetch_all(&state.pool)
            .await?
        }
        _ => return Err(page::PageError::Cursor.into()),
    };
    let (rows, next_cursor) = page::finish(rows, limit, |t| match sort {
        TagSort::Popular => TagKey::Popular(t.cloudcasts, t.tag.clone()),
        TagSort::Name => TagKey::Name(t.tag.clone()),
    });
    Ok(Json(Listing {
        items: rows.into_iter().map(with_url).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TagPageQuery {
    #[param(inline)]
    pub sort: Option<Sort>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// `GET /api/v1/tags/{tag}/cloudcasts?sort=new|popular|trending`
#[utoipa::path(get, path = "/api/v1/tags/{tag}/cloudcasts", tag = "catalogue", operation_id = "tag_cloudcasts",
    summary = "A tag's public cloudcasts, newest or most played first",
    params(("tag" = String, Path, description = "The tag (any case; percent-encoded)"), TagPageQuery),
    responses(
        (status = 200, description = "A page of cloudcasts", body = Listing<CloudcastCard>),
        (status = 400, description = "A bad tag, sort, limit or cursor", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn cloudcasts(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath(tag): ApiPath<String>,
    ApiQuery(q): ApiQuery<TagPageQuery>,
) -> Result<Json<Listing<CloudcastCard>>, CatalogError> {
    let tag = tag_param(&tag)?;
    Ok(Json(
        chart(
            &state,
            user,
            q.sort.unwrap_or_default(),
            Some(&tag),
            q.limit,
            q.cursor.as_deref(),
        )
        .await?,
    ))
}

/// Lock id (arbitrary, fixed) so one node recounts at a time.
const RECOUNT_LOCK: i64 = 0x7a65_c0a7;

/// Recounts `tag_counts` from the listed cloudcasts; returns the number of tags.
pub async fn recount(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let (locked,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_xact_lock($1)")
        .bind(RECOUNT_LOCK)
        .fetch_one(&mut *tx)
        .await?;
    if !locked {
        return Ok(0);
    }
    let listed = visibility::sql_listed("c");
    let n = sqlx::query(&format!(
        "INSERT INTO tag_counts (tag, cloudcasts, counted_at)
         SELECT t.tag, count(*), now() FROM cloudcast_tags t JOIN cloudcasts c ON c.id = t.cloudcast_id
          WHERE {listed} GROUP BY t.tag
         ON CONFLICT (tag) DO UPDATE SET cloudcasts = EXCLUDED.cloudcasts, counted_at = EXCLUDED.counted_at"
    ))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(&format!(
        "DELETE FROM tag_counts tc WHERE NOT EXISTS (
            SELECT 1 FROM cloudcast_tags t JOIN cloudcasts c ON c.id = t.cloudcast_id
             WHERE t.tag = tc.tag AND {listed})"
    ))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(n)
}
