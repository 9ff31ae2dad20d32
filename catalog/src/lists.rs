//! The catalogue's lists: a user's cloudcasts, my own in every state, the
//! charts (new, popular, trending; by tag too), and a cloudcast by its
//! readable URL. Every list is a keyset page (`page.rs`) of cards
//! (`cards.rs`) filtered by the one "may list" rule (`visibility.rs`).

use axum::Json;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::{ApiPath, ApiQuery};
use cloudcast_core::page::{self, Page};
use cloudcast_core::visibility;

use crate::cards::{CARD_COLUMNS, CardRow, CloudcastCard};
use crate::metadata::normalise_tags;
use crate::{CatalogError, CatalogState, cloudcasts};

/// A page of a list.
#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Listing<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1 to 100 (20 by default).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `next_cursor` of the page before.
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// How a chart or tag page is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Newest first (by `published_at`).
    #[default]
    New,
    /// Most plays in the last 30 days.
    Popular,
    /// Plays in the last 7 days against the 7 before (README: the formula).
    Trending,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChartQuery {
    // Inline: a parameter's schema must resolve in the document itself.
    /// `new` (the default), `popular` or `trending`.
    #[param(inline)]
    pub sort: Option<Sort>,
    /// Only cloudcasts with this tag.
    #[param(max_length = 30)]
    pub tag: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    #[param(max_length = 512)]
    pub cursor: Option<String>,
}

/// A list's sort key, as its cursor carries it (tagged, so a cursor of
/// one order is refused by another).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(crate) enum Key {
    /// `published_at` in microseconds, id.
    New(i64, Uuid),
    Popular(i64, Uuid),
    /// The score's bits (`f64::to_bits`): exact through JSON.
    Trending(u64, Uuid),
}

/// A card with the value its list is ordered by.
#[derive(sqlx::FromRow)]
pub(crate) struct Keyed {
    #[sqlx(flatten)]
    pub card: CardRow,
    /// The ordering column's value, from the table the query orders by.
    pub key_ts: Option<OffsetDateTime>,
    pub key_n: Option<i64>,
    pub key_f: Option<f64>,
}

impl Keyed {
    fn key(&self, sort: Sort) -> Key {
        let id = self.card.id;
        match sort {
            Sort::New => Key::New(page::micros(self.key_ts.unwrap_or(self.card.listed_at)), id),
            Sort::Popular => Key::Popular(self.key_n.unwrap_or(0), id),
            Sort::Trending => Key::Trending(self.key_f.unwrap_or(0.0).to_bits(), id),
        }
    }
}

/// The tag of a `tag` parameter or path, normalised as stored tags are.
pub(crate) fn tag_param(tag: &str) -> Result<String, CatalogError> {
    normalise_tags(&[tag.to_string()])
        .map_err(|e| CatalogError::BadRequest(e.to_string().replace("tags:", "tag:")))?
        .pop()
        .ok_or_else(|| CatalogError::BadRequest("tag: must not be empty".into()))
}

/// A chart: listed cloudcasts in `sort` order, optionally with one tag.
pub(crate) async fn chart(
    state: &CatalogState,
    viewer: Option<Uuid>,
    sort: Sort,
    tag: Option<&str>,
    limit: Option<u32>,
    cursor: Option<&str>,
) -> Result<Listing<CloudcastCard>, CatalogError> {
    let page: Page<Key> = Page::new(limit, cursor)?;
    // Where the order lives: the tag table carries copies of the chart
    // columns, so a tag page is one index range too.
    // The order, and its tie-breaker, are columns of the table whose index
    // holds that order, so the keyset condition is an index condition.
    let (from, by, tie, keep) = match (sort, tag.is_some()) {
        (Sort::New, false) => ("cloudcasts c", "c.listed_at", "c.id", ""),
        (Sort::New, true) => (
            "cloudcast_tags t JOIN cloudcasts c ON c.id = t.cloudcast_id",
            "t.listed_at",
            "t.cloudcast_id",
            "",
        ),
        (Sort::Popular, false) => (
            "cloudcast_charts k JOIN cloudcasts c ON c.id = k.cloudcast_id",
            "k.plays_30d",
            "k.cloudcast_id",
            " AND k.plays_30d > 0",
        ),
        (Sort::Popular, true) => (
            "cloudcast_tags t JOIN cloudcasts c ON c.id = t.cloudcast_id",
            "t.plays_30d",
            "t.cloudcast_id",
            " AND t.plays_30d > 0",
        ),
        (Sort::Trending, false) => (
            "cloudcast_charts k JOIN cloudcasts c ON c.id = k.cloudcast_id",
            "k.trending",
            "k.cloudcast_id",
            " AND k.trending > 0",
        ),
        (Sort::Trending, true) => (
            "cloudcast_tags t JOIN cloudcasts c ON c.id = t.cloudcast_id",
            "t.trending",
            "t.cloudcast_id",
            " AND t.trending > 0",
        ),
    };
    let (key_ts, key_n, key_f) = match sort {
        Sort::New => (by, "NULL::bigint", "NULL::float8"),
        Sort::Popular => ("NULL::timestamptz", by, "NULL::float8"),
        Sort::Trending => ("NULL::timestamptz", "NULL::bigint", by),
    };
    let mut sql = format!(
        "SELECT {CARD_COLUMNS}, {key_ts} AS key_ts, {key_n} AS key_n, {key_f} AS key_f
           FROM {from} JOIN users u ON u.id = c.owner_id
          WHERE {listed}{keep}",
        listed = visibility::sql_listed("c")
    );
    let mut n = 1;
    if tag.is_some() {
        sql.push_str(" AND t.tag = $1");
        n += 1;
    }
    if page.after.is_some() {
        sql.push_str(&format!(" AND ({by}, {tie}) < (${n}, ${})", n + 1));
        n += 2;
    }
    sql.push_str(&format!(" ORDER BY {by} DESC, {tie} DESC LIMIT ${n}"));
    let mut q = sqlx::query_as::<_, Keyed>(&sql);
    if let Some(t) = tag {
        q = q.bind(t);
    }
    q = match page.after {
        None => q,
        Some(Key::New(us, id)) if sort == Sort::New => q.bind(page::from_micros(us)?).bind(id),
        Some(Key::Popular(p, id)) if sort == Sort::Popular => q.bind(p).bind(id),
        Some(Key::Trending(t, id)) if sort == Sort::Trending => q.bind(f64::from_bits(t)).bind(id),
        Some(_) => return Err(page::PageError::Cursor.into()),
    };
    let rows = q.bind(page.fetch()).fetch_all(&state.pool).await?;
    Ok(keyed_listing(rows, page.limit, sort, viewer, false))
}

fn keyed_listing(
    rows: Vec<Keyed>,
    limit: u32,
    sort: Sort,
    viewer: Option<Uuid>,
    own: bool,
) -> Listing<CloudcastCard> {
    let (rows, next_cursor) = page::finish(rows, limit, |r| r.key(sort));
    Listing {
        items: rows.into_iter().map(|r| r.card.card(viewer, own)).collect(),
        next_cursor,
    }
}

/// `GET /api/v1/cloudcasts?sort=new|popular|trending[&tag=]`
#[utoipa::path(get, path = "/api/v1/cloudcasts", tag = "catalogue", operation_id = "charts",
    summary = "The charts: new, popular (plays in 30 days) or trending, optionally for one tag",
    description = "Public, ready and published cloudcasts only. Popular and trending are computed from the listening statistics every few minutes; trending = ln(1 + plays_7d) * (plays_7d + 1) / (plays_prev_7d + 1).",
    params(ChartQuery),
    responses(
        (status = 200, description = "A page of cloudcasts", body = Listing<CloudcastCard>),
        (status = 400, description = "A bad sort, tag, limit or cursor", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn charts(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiQuery(q): ApiQuery<ChartQuery>,
) -> Result<Json<Listing<CloudcastCard>>, CatalogError> {
    let tag = q.tag.as_deref().map(tag_param).transpose()?;
    Ok(Json(
        chart(
            &state,
            user,
            q.sort.unwrap_or_default(),
            tag.as_deref(),
            q.limit,
            q.cursor.as_deref(),
        )
        .await?,
    ))
}

/// The user called `username` (any case): id and stored spelling.
pub(crate) async fn user_named(
    pool: &sqlx::PgPool,
    username: &str,
) -> Result<(Uuid, String), CatalogError> {
    sqlx::query_as(&format!(
        "SELECT u.id, u.username FROM users u WHERE lower(u.username) = lower($1) AND {}",
        visibility::sql_account_active("u")
    ))
    .bind(username)
    .fetch_optional(pool)
    .await?
    .ok_or(CatalogError::NotFound("user"))
}

/// A user's cloudcasts newest first: `own` lists every one in every state
/// (for the owner), otherwise the listed ones.
async fn of_owner(
    state: &CatalogState,
    owner: Uuid,
    viewer: Option<Uuid>,
    own: bool,
    q: PageQuery,
) -> Result<Listing<CloudcastCard>, CatalogError> {
    let page: Page<Key> = Page::new(q.limit, q.cursor.as_deref())?;
    let filter = if own {
        String::new()
    } else {
        format!(" AND {}", visibility::sql_listed("c"))
    };
    let after = match page.after {
        None => None,
        Some(Key::New(us, id)) => Some((page::from_micros(us)?, id)),
        Some(_) => return Err(page::PageError::Cursor.into()),
    };
    let keyset = if after.is_some() {
        " AND (c.listed_at, c.id) < ($3, $4)"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {CARD_COLUMNS}, c.listed_at AS key_ts, NULL::bigint AS key_n, NULL::float8 AS key_f
           FROM cloudcasts c JOIN users u ON u.id = c.owner_id
          WHERE c.owner_id = $1{filter}{keyset}
          ORDER BY c.listed_at DESC, c.id DESC LIMIT $2"
    );
    let mut q = sqlx::query_as::<_, Keyed>(&sql)
        .bind(owner)
        .bind(page.fetch());
    if let Some((at, id)) = after {
        q = q.bind(at).bind(id);
    }
    let rows = q.fetch_all(&state.pool).await?;
    Ok(keyed_listing(rows, page.limit, Sort::New, viewer, own))
}

/// `GET /api/v1/users/{username}/cloudcasts`
#[utoipa::path(get, path = "/api/v1/users/{username}/cloudcasts", tag = "catalogue", operation_id = "user_cloudcasts",
    summary = "A user's public cloudcasts, newest first",
    params(("username" = String, Path, description = "The user's username (any case)"), PageQuery),
    responses(
        (status = 200, description = "A page of their public, ready, published cloudcasts", body = Listing<CloudcastCard>),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn user_cloudcasts(
    State(state): State<CatalogState>,
    MaybeUser(viewer): MaybeUser,
    ApiPath(username): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Listing<CloudcastCard>>, CatalogError> {
    let (owner, _) = user_named(&state.pool, &username).await?;
    Ok(Json(of_owner(&state, owner, viewer, false, q).await?))
}

/// `GET /api/v1/me/cloudcasts`
#[utoipa::path(get, path = "/api/v1/me/cloudcasts", tag = "catalogue", operation_id = "my_cloudcasts",
    summary = "All my cloudcasts in every state, newest first, with progress and errors",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of my cloudcasts", body = Listing<CloudcastCard>),
        (status = 400, description = "A bad limit or cursor", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn my_cloudcasts(
    State(state): State<CatalogState>,
    AuthUser(user): AuthUser,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Listing<CloudcastCard>>, CatalogError> {
    Ok(Json(of_owner(&state, user, Some(user), true, q).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SlugQuery {
    /// An unlisted cloudcast's secret (part of its `url`).
    #[param(max_length = 64)]
    pub secret: Option<String>,
}

/// `GET /api/v1/users/{username}/cloudcasts/{slug}`: the cloudcast at its
/// readable URL. An older slug answers 302 to the current one; an unlisted
/// cloudcast needs its secret; the username may be in any case.
#[utoipa::path(get, path = "/api/v1/users/{username}/cloudcasts/{slug}", tag = "catalogue", operation_id = "cloudcast_by_slug",
    summary = "A cloudcast by its readable URL",
    params(
        ("username" = String, Path, description = "The owner's username (any case)"),
        ("slug" = String, Path, description = "The cloudcast's slug, current or former"),
        SlugQuery),
    responses(
        (status = 200, description = "The cloudcast", body = cloudcasts::CloudcastView),
        (status = 302, description = "A former slug: `Location` is the current URL"),
        (status = 404, description = "No such user or cloudcast (or not visible to me)", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn by_slug(
    State(state): State<CatalogState>,
    MaybeUser(user): MaybeUser,
    ApiPath((username, slug)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<SlugQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Response, CatalogError> {
    let (owner, stored) = user_named(&state.pool, &username).await?;
    let found: Option<(Uuid, Option<String>)> = sqlx::query_as(
        "SELECT c.id, c.slug FROM cloudcast_slugs s JOIN cloudcasts c ON c.id = s.cloudcast_id
          WHERE s.owner_id = $1 AND s.slug = lower($2)",
    )
    .bind(owner)
    .bind(&slug)
    .fetch_optional(&state.pool)
    .await?;
    let (id, current) = found.ok_or(CatalogError::NotFound("cloudcast"))?;
    let secret = q.secret.as_deref().unwrap_or("");
    match current {
        Some(current) if current != slug => {
            // Only a cloudcast the caller may see is redirected to, so an
            // old slug reveals nothing a current one would not.
            #[derive(sqlx::FromRow)]
            struct Target {
                #[sqlx(flatten)]
                access: visibility::Access,
                secret: String,
            }
            let target: Target = sqlx::query_as(&format!(
                "SELECT {}, secret FROM cloudcasts WHERE id = $1",
                visibility::ACCESS_COLUMNS
            ))
            .bind(id)
            .fetch_optional(&state.pool)
            .await?
            .ok_or(CatalogError::NotFound("cloudcast"))?;
            if !cloudcasts::reachable(&target.access, &target.secret, user, Some(secret)) {
                return Err(CatalogError::NotFound("cloudcast"));
            }
            let mut location = format!("/api/v1/users/{stored}/cloudcasts/{current}");
            if q.secret.is_some() {
                location.push_str(&format!("?secret={}", urlencode(secret)));
            }
            // Temporary: a slug can be taken back by a later rename, and a
            // cached permanent redirect would then loop.
            let mut resp = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            Ok(resp)
        }
        _ => cloudcasts::respond(&state, id, user, peer.ip(), &headers, Some(secret)).await,
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub(crate) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_in_queries_are_normalised_and_checked() {
        assert_eq!(tag_param(" Deep House ").ok(), Some("deep house".into()));
        assert!(matches!(tag_param("<x>"), Err(CatalogError::BadRequest(_))));
        assert!(matches!(tag_param(".."), Err(CatalogError::BadRequest(_))));
    }

    #[test]
    fn urlencode_keeps_unreserved_only() {
        assert_eq!(urlencode("a b/c?d"), "a%20b%2Fc%3Fd");
    }
}
