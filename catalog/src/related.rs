//! "More like this": the cloudcasts a mix's listeners also heard (computed
//! from co-listening by the analytics crate into `related_cloudcasts`),
//! then, where those are too few, cloudcasts sharing its tags. Only what
//! may be listed shows, decided here as it is read: a mix made private,
//! unlisted, taken down or erased since the last round never appears, nor
//! one by someone the reader blocked or who blocked them.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_core::auth::MaybeUser;
use cloudcast_core::extract::{ApiPath, ApiQuery};
use cloudcast_core::visibility;

use crate::cards::{CARD_COLUMNS, CardRow, CloudcastCard};
use crate::{CatalogError, CatalogState};

/// Most related cloudcasts one request returns.
pub const MAX_LIMIT: u32 = 20;
const DEFAULT_LIMIT: u32 = 6;
/// Cloudcasts read per tag of the mix (its most played): enough to fill a
/// page, and a bound on the work a popular tag costs.
const PER_TAG: i64 = 100;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RelatedQuery {
    /// How many, 1 to 20 (default 6).
    pub limit: Option<u32>,
}

/// Why a cloudcast is related.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Enough of the same people heard both (at least `analytics.min_audience`).
    CoListening,
    /// It shares tags with the mix.
    Tags,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RelatedCloudcast {
    pub cloudcast: CloudcastCard,
    pub reason: Reason,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Related {
    /// Co-listened first (most alike audiences first), then by tags shared.
    pub items: Vec<RelatedCloudcast>,
}

#[derive(sqlx::FromRow)]
struct RelatedRow {
    #[sqlx(flatten)]
    card: CardRow,
    tier: i32,
}

/// The related cloudcasts of `id` as `viewer` may see them.
pub async fn of(
    state: &CatalogState,
    id: Uuid,
    viewer: Option<Uuid>,
    limit: u32,
) -> Result<Related, CatalogError> {
    // Tier 0: co-listening, by score; tier 1: shared tags, by how many are
    // shared, then plays. A cloudcast in both counts as co-listened.
    let sql = format!(
        "WITH co AS (
             SELECT r.related_id AS id, 0 AS tier, r.score AS rank, r.listeners::bigint AS n
               FROM related_cloudcasts r
              WHERE r.cloudcast_id = $1
              ORDER BY r.score DESC, r.related_id
              LIMIT {MAX_LIMIT}
         ), tagged AS (
             SELECT x.cloudcast_id AS id, 1 AS tier, count(*)::float8 AS rank, max(x.plays_30d) AS n
               FROM unnest((SELECT tags FROM cloudcasts WHERE id = $1)) AS t(tag)
              CROSS JOIN LATERAL (
                    SELECT ct.cloudcast_id, ct.plays_30d FROM cloudcast_tags ct
                     WHERE ct.tag = t.tag
                     ORDER BY ct.plays_30d DESC, ct.cloudcast_id DESC
                     LIMIT {PER_TAG}) x
              WHERE x.cloudcast_id <> $1
              GROUP BY x.cloudcast_id
         ), k AS (
             SELECT DISTINCT ON (id) id, tier, rank, n
               FROM (SELECT * FROM co UNION ALL SELECT * FROM tagged) a
              ORDER BY id, tier
         )
         SELECT {CARD_COLUMNS}, k.tier
           FROM k JOIN cloudcasts c ON c.id = k.id JOIN users u ON u.id = c.owner_id
          WHERE {listed} AND NOT {blocked}
          ORDER BY k.tier, k.rank DESC, k.n DESC, c.id
          LIMIT $3",
        listed = visibility::sql_listed("c"),
        blocked = visibility::sql_blocked("$2::uuid", "c.owner_id"),
    );
    let rows: Vec<RelatedRow> = sqlx::query_as(&sql)
        .bind(id)
        .bind(viewer)
        .bind(i64::from(limit))
        .fetch_all(&state.pool)
        .await?;
    Ok(Related {
        items: rows
            .into_iter()
            .map(|r| RelatedCloudcast {
                reason: if r.tier == 0 {
                    Reason::CoListening
                } else {
                    Reason::Tags
                },
                cloudcast: r.card.card(viewer, false),
            })
            .collect(),
    })
}

/// `GET /api/v1/cloudcasts/{id}/related?limit=`
#[utoipa::path(get, path = "/api/v1/cloudcasts/{id}/related", tag = "catalogue", operation_id = "related",
    summary = "More like this: what the mix's listeners also heard, then mixes sharing its tags",
    description = "Co-listening: people who heard this mix for at least 5 minutes in the last 90 days and also heard another; a pair shows only when at least `analytics.min_audience` people heard both, and minors, private activity and erased accounts are never counted. Recomputed on the charts' schedule. Where those are fewer than `limit`, public mixes sharing the most tags fill the list. Only public, ready, published mixes show.",
    params(("id" = Uuid, Path, description = "The cloudcast's id"), RelatedQuery),
    responses(
        (status = 200, description = "Related cloudcasts, most alike first", body = Related),
        (status = 400, description = "A bad id or limit", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such cloudcast, or not one this viewer may see", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn related(
    State(state): State<CatalogState>,
    MaybeUser(viewer): MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<RelatedQuery>,
) -> Result<Json<Related>, CatalogError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(CatalogError::BadRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    match visibility::load(&state.pool, id).await? {
        Some(a) if a.visible_to(viewer) => {}
        _ => return Err(CatalogError::NotFound("cloudcast")),
    }
    Ok(Json(of(&state, id, viewer, limit).await?))
}
