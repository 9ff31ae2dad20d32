//! The analysts' side: the dashboard's data (`/api/v1/analytics/overview`),
//! the same queries as downloadable Arrow IPC or Parquet files
//! (`/api/v1/analytics/datasets/{name}`), and the ad-targeting audiences
//! with their k-anonymity floor. Admins only.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_core::auth::AdminUser;
use cloudcast_core::extract::{ApiPath, ApiQuery};

use crate::columnar::{self, Format};
use crate::dates::{DateRange, Params};
use crate::metrics::timed;
use crate::sql::{self, Binds, Query, Rule};
use crate::stats::{self, BrowserRow, DayRow, ReferrerRow, RetentionRow};
use crate::{AnalyticsError, AnalyticsState};

/// Rows in the dashboard's top lists.
const TOP_N: u32 = 10;

/// A dataset download's query: the range and limit, and the file format.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DownloadParams {
    /// First day, `YYYY-MM-DD` (UTC), included; by default 29 days before `to`.
    #[param(format = Date)]
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC), included; by default today.
    #[param(format = Date)]
    pub to: Option<String>,
    /// Rows at most.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `arrow` (the default) or `parquet`.
    #[param(pattern = "^(arrow|parquet)$")]
    pub format: Option<String>,
}

impl DownloadParams {
    fn range(&self) -> Params {
        Params {
            from: self.from.clone(),
            to: self.to.clone(),
            limit: self.limit,
        }
    }
}

fn range_of(state: &AnalyticsState, params: &Params) -> Result<DateRange, AnalyticsError> {
    DateRange::from_params(params, DateRange::today(), state.config.max_range_days)
}

#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, PartialEq, utoipa::ToSchema)]
pub struct TopRow {
    pub cloudcast_id: String,
    pub plays: u64,
    pub listeners: u64,
    pub listened_seconds: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TopCloudcast {
    #[serde(flatten)]
    pub row: TopRow,
    pub title: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, PartialEq, utoipa::ToSchema)]
pub struct FavouriteDay {
    pub day: String,
    pub added: u64,
    pub removed: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub from: String,
    pub to: String,
    pub plays: u64,
    pub listeners: u64,
    pub listened_seconds: u64,
    pub by_day: Vec<DayRow>,
    /// The cloudcast whose retention is shown: the most played one (a
    /// curve over mixes of different lengths means little).
    pub retention_cloudcast: Option<String>,
    pub retention: Vec<RetentionRow>,
    pub referrers: Vec<ReferrerRow>,
    pub browsers: Vec<BrowserRow>,
    pub top_cloudcasts: Vec<TopCloudcast>,
    pub favourites: Vec<FavouriteDay>,
}

pub async fn top_cloudcasts(
    client: &clickhouse::Client,
    rule: Rule,
    r: &DateRange,
    limit: u32,
) -> Result<Vec<TopRow>, AnalyticsError> {
    let b = Binds {
        limit: Some(limit),
        ..Binds::ruled(r, rule)
    };
    Ok(timed(
        sql::TOP_CLOUDCASTS.name,
        sql::TOP_CLOUDCASTS.bound(client, &b)?.fetch_all(),
    )
    .await?)
}

pub async fn favourite_days(
    client: &clickhouse::Client,
    r: &DateRange,
) -> Result<Vec<FavouriteDay>, AnalyticsError> {
    Ok(timed(
        sql::FAVOURITES.name,
        sql::FAVOURITES.bound(client, &Binds::range(r))?.fetch_all(),
    )
    .await?)
}

/// `GET /api/v1/analytics/overview?from=&to=`
#[utoipa::path(get, path = "/api/v1/analytics/overview", tag = "analytics",
    summary = "The analysts' dashboard over all cloudcasts",
    description = "Administrators only. Totals and per-day rows, the most played cloudcast's \
        retention, top referrers, browsers and cloudcasts, and favourites per day.",
    params(Params),
    responses(
        (status = 200, description = "The dashboard's data for the range", body = Overview),
        (status = 400, description = "Bad range, limit or query", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn overview(
    State(state): State<AnalyticsState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Json<Overview>, AnalyticsError> {
    let r = range_of(&state, &params)?;
    let limit = params.limit(TOP_N)?;
    let ch = &state.clickhouse;
    let rule = Rule::of(&state.config);
    let by_day = stats::daily(ch, rule, "", &r).await?;
    let (plays, listened_seconds) = stats::totals(&by_day);
    let top = top_cloudcasts(ch, rule, &r, limit).await?;
    let ids: Vec<Uuid> = top
        .iter()
        .filter_map(|t| Uuid::parse_str(&t.cloudcast_id).ok())
        .collect();
    // A title that is not public is its owner's alone, analysts included.
    let titles: Vec<(Uuid, String)> = sqlx::query_as(&format!(
        "SELECT c.id, CASE WHEN {listed} THEN c.title
                           WHEN c.taken_down_at IS NOT NULL THEN '(taken-down cloudcast)'
                           WHEN c.draft THEN '(draft cloudcast)'
                           WHEN c.visibility = 'public' THEN '(scheduled cloudcast)'
                           ELSE '(' || c.visibility || ' cloudcast)' END
           FROM cloudcasts c WHERE c.id = ANY($1)",
        listed = cloudcast_core::visibility::sql_listed("c")
    ))
    .bind(&ids)
    .fetch_all(&state.pool)
    .await?;
    let top_cloudcasts: Vec<TopCloudcast> = top
        .into_iter()
        .map(|row| {
            let title = titles
                .iter()
                .find(|(id, _)| id.to_string() == row.cloudcast_id)
                .map(|(_, t)| t.clone())
                .unwrap_or_default();
            TopCloudcast { row, title }
        })
        .collect();
    let retention_cloudcast = top_cloudcasts.first().map(|t| t.row.cloudcast_id.clone());
    let retention = match &retention_cloudcast {
        Some(id) => stats::retention(ch, id, &r).await?,
        None => Vec::new(),
    };
    Ok(Json(Overview {
        from: r.bounds().0,
        to: r.bounds().1,
        plays,
        listeners: stats::listeners(ch, rule, "", &r).await?,
        listened_seconds,
        by_day,
        retention_cloudcast,
        retention,
        referrers: stats::referrers(ch, "", &r, limit).await?,
        browsers: stats::browsers(ch, "", &r, limit).await?,
        top_cloudcasts,
        favourites: favourite_days(ch, &r).await?,
    }))
}

#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row, PartialEq, utoipa::ToSchema)]
pub struct AudienceRow {
    pub tag: String,
    /// Consenting signed-in users who listened to the tag in the period.
    pub audience: u64,
    pub listened_seconds: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Audiences {
    pub from: String,
    pub to: String,
    /// Tags with a smaller audience are left out (k-anonymity).
    pub min_audience: u64,
    pub audiences: Vec<AudienceRow>,
}

pub async fn audiences(
    client: &clickhouse::Client,
    rule: Rule,
    r: &DateRange,
    min_audience: u64,
) -> Result<Vec<AudienceRow>, AnalyticsError> {
    // The floor is applied in the query itself, so no smaller audience
    // ever leaves ClickHouse; at least 1 so an empty tag never shows.
    let b = Binds {
        min_audience: Some(min_audience.max(1)),
        ..Binds::ruled(r, rule)
    };
    Ok(timed(
        sql::AD_AUDIENCES.name,
        sql::AD_AUDIENCES.bound(client, &b)?.fetch_all(),
    )
    .await?)
}

/// `GET /api/v1/ads/audiences?from=&to=`
#[utoipa::path(get, path = "/api/v1/ads/audiences", tag = "analytics",
    summary = "Ad-targeting audiences per tag",
    description = "Administrators only. Consenting signed-in listeners per tag over the range; \
        tags with fewer than `min_audience` listeners are left out (k-anonymity).",
    params(Params),
    responses(
        (status = 200, description = "Audiences per tag", body = Audiences),
        (status = 400, description = "Bad range or query", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn ad_audiences(
    State(state): State<AnalyticsState>,
    AdminUser(_admin): AdminUser,
    ApiQuery(params): ApiQuery<Params>,
) -> Result<Json<Audiences>, AnalyticsError> {
    let r = range_of(&state, &params)?;
    let min_audience = state.config.min_audience;
    Ok(Json(Audiences {
        from: r.bounds().0,
        to: r.bounds().1,
        min_audience,
        audiences: audiences(&state.clickhouse, Rule::of(&state.config), &r, min_audience).await?,
    }))
}

/// The downloadable datasets: each one of the documented queries over all
/// cloudcasts for the range.
fn dataset(name: &str) -> Option<Query> {
    [
        sql::DAILY,
        sql::RETENTION,
        sql::REFERRERS,
        sql::BROWSERS,
        sql::TOP_CLOUDCASTS,
        sql::AD_AUDIENCES,
        sql::FAVOURITES,
    ]
    .into_iter()
    .find(|q| q.name == name)
}

/// `GET /api/v1/analytics/datasets/{name}?from=&to=&format=arrow|parquet`
#[utoipa::path(get, path = "/api/v1/analytics/datasets/{name}", tag = "analytics",
    summary = "Download a dataset as an Arrow IPC or Parquet file",
    description = "Administrators only. One of the dashboard's queries over all cloudcasts \
        for the range, as an attachment; `format` is `arrow` (default) or `parquet`.",
    params(
        ("name" = String, Path, description = "The dataset: `daily`, `retention`, `referrers`, \
            `browsers`, `top_cloudcasts`, `ad_audiences` or `favourites`"),
        DownloadParams),
    responses(
        (status = 200, description = "The dataset as a file (attachment)",
            content(
                ("application/vnd.apache.arrow.file"),
                ("application/vnd.apache.parquet"))),
        (status = 400, description = "Bad range, limit, format or query", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not an administrator", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such dataset", body = cloudcast_core::apidoc::ErrorBody),
        (status = 503, description = "Analytics unavailable", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn download(
    State(state): State<AnalyticsState>,
    ApiPath(name): ApiPath<String>,
    AdminUser(_admin): AdminUser,
    ApiQuery(download): ApiQuery<DownloadParams>,
) -> Result<Response, AnalyticsError> {
    let q = dataset(&name).ok_or(AnalyticsError::NotFound("dataset"))?;
    let format = Format::parse(download.format.as_deref())?;
    let params = download.range();
    let r = range_of(&state, &params)?;
    let limit = params.limit(crate::dates::MAX_LIMIT)?;
    let cfg = &state.config;
    let b = Binds {
        limit: Some(limit),
        min_audience: Some(cfg.min_audience),
        ..Binds::ruled(&r, Rule::of(cfg))
    };
    let query = q.bound(&state.clickhouse, &b)?;
    let text = timed(
        q.name,
        query
            .fetch_bytes("TabSeparatedWithNamesAndTypes")?
            .collect(),
    )
    .await?;
    let text = std::str::from_utf8(&text)
        .map_err(|_| AnalyticsError::Encode("ClickHouse answered with invalid UTF-8".into()))?;
    let batch = columnar::tsv_to_batch(text)?;
    // Encoding a result of at most a few thousand rows takes milliseconds.
    let body = columnar::encode(&batch, format)?;
    let (from, to) = r.bounds();
    crate::columnar::attachment(
        format.content_type(),
        &format!("{name}_{from}_{to}.{}", format.extension()),
        body,
    )
}
