//! Playlists: a person's ordered choice of mixes, public, unlisted (by its
//! secret URL, as a mix) or private. Who may see one, and which mixes in it
//! show, are `core/src/visibility.rs`'s rules (`sql_playlist_visible`,
//! `sql_in_playlist`): a mix that becomes private, is taken down or erased
//! drops out of others' playlists as they are read, and the rest plays on.
//! Its cover is the picture of the first mix its reader sees in it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use cloudcast_core::auth::{AuthUser, MaybeUser};
use cloudcast_core::extract::{ApiJson, ApiPath, ApiQuery};
use cloudcast_core::states::Visibility;
use cloudcast_core::text::{clean_text, plain_text};
use cloudcast_core::visibility;

use crate::cards::{CARD_COLUMNS, CardRow, CloudcastCard};
use crate::lists::user_named;
use crate::pictures::PictureUrls;
use crate::{CatalogError, CatalogState};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Playlists one person may keep: far more than people make, and a bound
/// on what a profile lists.
pub const MAX_PLAYLISTS: i64 = 200;
/// Mixes in one playlist: 500 mixes of an hour is three weeks of music,
/// and a bound on a page and on the renumbering of a move.
pub const MAX_ITEMS: i64 = 500;

/// A playlist as its reader sees it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlaylistView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    /// The owner's username.
    pub owner: String,
    /// Its page, `/playlists/{id}` (an unlisted one's carries `?secret=`).
    pub url: String,
    /// To its owner only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// The first mix's picture; `null` while none shows.
    pub picture_urls: Option<PictureUrls>,
    /// The mixes in order, as this reader may see them.
    pub items: Vec<CloudcastCard>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A playlist in a list.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlaylistSummary {
    pub id: Uuid,
    pub title: String,
    pub owner: String,
    pub url: String,
    /// To its owner only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    /// Mixes this reader sees in it.
    pub mixes: i64,
    pub picture_urls: Option<PictureUrls>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPlaylist {
    #[schema(max_length = 100)]
    pub title: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// `public` (the default), `unlisted` or `private`.
    pub visibility: Option<Visibility>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaylistChange {
    #[schema(max_length = 100)]
    pub title: Option<String>,
    /// Empty: none.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    pub visibility: Option<Visibility>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemPlace {
    /// Where it goes, from 0 (the first); absent or past the end: last.
    #[schema(minimum = 0)]
    pub position: Option<u32>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SecretQuery {
    /// An unlisted playlist's secret (from its URL).
    #[param(max_length = 64)]
    pub secret: Option<String>,
}

/// The page of a playlist.
pub fn url(id: Uuid, visibility: Visibility, secret: &str) -> String {
    match visibility {
        Visibility::Unlisted => format!("/playlists/{id}?secret={secret}"),
        _ => format!("/playlists/{id}"),
    }
}

#[derive(sqlx::FromRow)]
struct PlaylistRow {
    id: Uuid,
    owner_id: Uuid,
    owner: String,
    title: String,
    description: String,
    visibility: Visibility,
    secret: String,
    updated_at: OffsetDateTime,
}

const PLAYLIST_COLUMNS: &str = "p.id, p.owner_id, u.username AS owner, p.title, p.description,
    p.visibility, p.secret, p.updated_at";

/// The playlist `id` if `viewer` (with `secret`) may see it.
async fn visible(
    state: &CatalogState,
    id: Uuid,
    viewer: Option<Uuid>,
    secret: Option<&str>,
) -> Result<PlaylistRow, CatalogError> {
    sqlx::query_as(&format!(
        "SELECT {PLAYLIST_COLUMNS} FROM playlists p JOIN users u ON u.id = p.owner_id
          WHERE p.id = $1 AND {visible}",
        visible = visibility::sql_playlist_visible("p", "$2", "$3"),
    ))
    .bind(id)
    .bind(viewer)
    .bind(secret)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(CatalogError::NotFound("playlist"))
}

/// The playlist `id` for its owner `me`: "not found" when `me` may not see
/// it, "forbidden" when `me` sees it but does not own it.
async fn owned(state: &CatalogState, id: Uuid, me: Uuid) -> Result<PlaylistRow, CatalogError> {
    let p = visible(state, id, Some(me), None).await?;
    if p.owner_id != me {
        return Err(CatalogError::Forbidden(
            "only its owner may change this playlist",
        ));
    }
    Ok(p)
}

/// The whole view of `p` for `viewer`.
async fn view_of(
    state: &CatalogState,
    p: PlaylistRow,
    viewer: Option<Uuid>,
) -> Result<PlaylistView, CatalogError> {
    let rows: Vec<CardRow> = sqlx::query_as(&format!(
        "SELECT {CARD_COLUMNS} FROM playlist_items i
           JOIN cloudcasts c ON c.id = i.cloudcast_id JOIN users u ON u.id = c.owner_id
          WHERE i.playlist_id = $1 AND {shown}
          ORDER BY i.position, i.added_at LIMIT $3",
        shown = visibility::sql_in_playlist("c", "$2"),
    ))
    .bind(p.id)
    .bind(viewer)
    .bind(MAX_ITEMS)
    .fetch_all(&state.pool)
    .await?;
    let items: Vec<CloudcastCard> = rows.into_iter().map(|r| r.card(viewer, false)).collect();
    let own = viewer == Some(p.owner_id);
    Ok(PlaylistView {
        url: url(p.id, p.visibility, &p.secret),
        picture_urls: items.first().map(|c| c.picture_urls.clone()),
        id: p.id,
        title: p.title,
        description: p.description,
        owner: p.owner,
        visibility: own.then_some(p.visibility),
        items,
        updated_at: p.updated_at,
    })
}

fn title_of(title: &str) -> Result<String, CatalogError> {
    Ok(clean_text("title", title, MAX_TITLE_CHARS)?)
}

fn description_of(description: &str) -> Result<String, CatalogError> {
    let d = description.replace("\r\n", "\n").trim().to_string();
    plain_text("description", &d, MAX_DESCRIPTION_CHARS, true)?;
    Ok(d)
}

/// `POST /api/v1/playlists`
#[utoipa::path(post, path = "/api/v1/playlists", tag = "playlists",
    summary = "Make a playlist",
    request_body = NewPlaylist,
    responses(
        (status = 201, description = "Made (empty)", body = PlaylistView),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "My email is not confirmed yet (`email_unverified`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "I keep as many playlists as one may (`limit_reached`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is invalid (named)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn create(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiJson(req): ApiJson<NewPlaylist>,
) -> Result<(StatusCode, Json<PlaylistView>), CatalogError> {
    let title = title_of(&req.title)?;
    let description = description_of(req.description.as_deref().unwrap_or(""))?;
    cloudcast_core::auth::require_verified(&state.pool, me, "make playlists").await?;
    let id = Uuid::now_v7();
    // The count and the insert are one statement, so two at once cannot
    // pass the bound together by much (one each at most).
    let made = sqlx::query(
        "INSERT INTO playlists (id, owner_id, title, description, visibility)
         SELECT $1, $2, $3, $4, $5
          WHERE (SELECT count(*) FROM playlists WHERE owner_id = $2) < $6",
    )
    .bind(id)
    .bind(me)
    .bind(&title)
    .bind(&description)
    .bind(req.visibility.unwrap_or(Visibility::Public))
    .bind(MAX_PLAYLISTS)
    .execute(&state.pool)
    .await
    .map_err(crate::error::gone("user"))?
    .rows_affected();
    if made == 0 {
        return Err(CatalogError::LimitReached("playlists"));
    }
    tracing::info!(playlist_id = %id, user_id = %me, "playlist made");
    let p = visible(&state, id, Some(me), None).await?;
    Ok((
        StatusCode::CREATED,
        Json(view_of(&state, p, Some(me)).await?),
    ))
}

/// `GET /api/v1/playlists/{id}?secret=`
#[utoipa::path(get, path = "/api/v1/playlists/{id}", tag = "playlists",
    summary = "A playlist with its mixes in order",
    params(("id" = Uuid, Path, description = "The playlist"), SecretQuery),
    responses(
        (status = 200, description = "The playlist, as I may see it", body = PlaylistView),
        (status = 404, description = "No such playlist, or a private one, or unlisted without its secret", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn get(
    State(state): State<CatalogState>,
    MaybeUser(viewer): MaybeUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<SecretQuery>,
) -> Result<Json<PlaylistView>, CatalogError> {
    let p = visible(&state, id, viewer, q.secret.as_deref()).await?;
    Ok(Json(view_of(&state, p, viewer).await?))
}

/// `PATCH /api/v1/playlists/{id}`
#[utoipa::path(patch, path = "/api/v1/playlists/{id}", tag = "playlists",
    summary = "Rename, describe or change who sees a playlist (its owner)",
    params(("id" = Uuid, Path, description = "The playlist")),
    request_body = PlaylistChange,
    responses(
        (status = 200, description = "Changed", body = PlaylistView),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not its owner", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such playlist", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is invalid (named)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn update(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<PlaylistChange>,
) -> Result<Json<PlaylistView>, CatalogError> {
    let title = req.title.as_deref().map(title_of).transpose()?;
    let description = req.description.as_deref().map(description_of).transpose()?;
    owned(&state, id, me).await?;
    sqlx::query(
        "UPDATE playlists SET title = COALESCE($2, title), description = COALESCE($3, description),
                visibility = COALESCE($4, visibility), updated_at = now()
          WHERE id = $1 AND owner_id = $5",
    )
    .bind(id)
    .bind(title)
    .bind(description)
    .bind(req.visibility)
    .bind(me)
    .execute(&state.pool)
    .await?;
    let p = owned(&state, id, me).await?;
    Ok(Json(view_of(&state, p, Some(me)).await?))
}

/// `DELETE /api/v1/playlists/{id}`
#[utoipa::path(delete, path = "/api/v1/playlists/{id}", tag = "playlists",
    summary = "Delete a playlist (its owner; the mixes stay)",
    params(("id" = Uuid, Path, description = "The playlist")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not its owner", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such playlist", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn delete(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, CatalogError> {
    owned(&state, id, me).await?;
    sqlx::query("DELETE FROM playlists WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(me)
        .execute(&state.pool)
        .await?;
    tracing::info!(playlist_id = %id, user_id = %me, "playlist deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The order of `ids` with `moved` put at `position` (last when absent or
/// past the end).
fn placed(mut ids: Vec<Uuid>, moved: Uuid, position: Option<u32>) -> Vec<Uuid> {
    ids.retain(|i| *i != moved);
    let at = position.map_or(ids.len(), |p| (p as usize).min(ids.len()));
    ids.insert(at, moved);
    ids
}

/// `PUT /api/v1/playlists/{id}/items/{cloudcast_id}` `{"position": n}`:
/// adds the mix, or moves it there.
#[utoipa::path(put, path = "/api/v1/playlists/{id}/items/{cloudcast_id}", tag = "playlists",
    summary = "Add a mix to a playlist, or move it (its owner; idempotent)",
    params(("id" = Uuid, Path, description = "The playlist"),
        ("cloudcast_id" = Uuid, Path, description = "The mix: one that may be listed, or my own")),
    request_body(content = ItemPlace, description = "Where it goes; no body: last"),
    responses(
        (status = 200, description = "The playlist with the mix in place", body = PlaylistView),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not its owner", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such playlist, or no such mix (or one that may not be listed)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "The playlist is full (`limit_reached`)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn put_item(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiPath((id, cloudcast)): ApiPath<(Uuid, Uuid)>,
    body: axum::body::Bytes,
) -> Result<Json<PlaylistView>, CatalogError> {
    // No body is the common case (add it last); a body says where.
    let place: ItemPlace = if body.iter().all(u8::is_ascii_whitespace) {
        ItemPlace::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| CatalogError::InvalidField(format!("body: {e}")))?
    };
    owned(&state, id, me).await?;
    let mut tx = state.pool.begin().await?;
    // The playlist's row lock orders concurrent changes to its order.
    sqlx::query("SELECT 1 FROM playlists WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let addable: bool = sqlx::query_scalar(&format!(
        "SELECT EXISTS (SELECT 1 FROM cloudcasts c WHERE c.id = $1 AND {})",
        visibility::sql_in_playlist("c", "$2")
    ))
    .bind(cloudcast)
    .bind(me)
    .fetch_one(&mut *tx)
    .await?;
    let order: Vec<Uuid> = sqlx::query_scalar(
        "SELECT cloudcast_id FROM playlist_items WHERE playlist_id = $1 ORDER BY position, added_at",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let present = order.contains(&cloudcast);
    if !present && !addable {
        return Err(CatalogError::NotFound("cloudcast"));
    }
    if !present && order.len() as i64 >= MAX_ITEMS {
        return Err(CatalogError::LimitReached("mixes in a playlist"));
    }
    let order = placed(order, cloudcast, place.position);
    sqlx::query(
        "INSERT INTO playlist_items (playlist_id, cloudcast_id, position) VALUES ($1, $2, 0)
         ON CONFLICT (playlist_id, cloudcast_id) DO NOTHING",
    )
    .bind(id)
    .bind(cloudcast)
    .execute(&mut *tx)
    .await
    .map_err(crate::error::gone("cloudcast"))?;
    sqlx::query(
        "UPDATE playlist_items i SET position = o.n - 1
           FROM unnest($2::uuid[]) WITH ORDINALITY AS o(id, n)
          WHERE i.playlist_id = $1 AND i.cloudcast_id = o.id",
    )
    .bind(id)
    .bind(&order)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE playlists SET updated_at = now() WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let p = owned(&state, id, me).await?;
    Ok(Json(view_of(&state, p, Some(me)).await?))
}

/// `DELETE /api/v1/playlists/{id}/items/{cloudcast_id}` (idempotent).
#[utoipa::path(delete, path = "/api/v1/playlists/{id}/items/{cloudcast_id}", tag = "playlists",
    summary = "Take a mix out of a playlist (its owner; idempotent)",
    params(("id" = Uuid, Path, description = "The playlist"),
        ("cloudcast_id" = Uuid, Path, description = "The mix")),
    responses(
        (status = 200, description = "The playlist without it", body = PlaylistView),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 403, description = "Not its owner", body = cloudcast_core::apidoc::ErrorBody),
        (status = 404, description = "No such playlist", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn delete_item(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
    ApiPath((id, cloudcast)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<PlaylistView>, CatalogError> {
    owned(&state, id, me).await?;
    sqlx::query(
        "WITH gone AS (DELETE FROM playlist_items WHERE playlist_id = $1 AND cloudcast_id = $2 RETURNING 1)
         UPDATE playlists SET updated_at = now() WHERE id = $1 AND EXISTS (SELECT 1 FROM gone)",
    )
    .bind(id)
    .bind(cloudcast)
    .execute(&state.pool)
    .await?;
    let p = owned(&state, id, me).await?;
    Ok(Json(view_of(&state, p, Some(me)).await?))
}

/// The document search matches a public playlist by, over `p` (its
/// index is `playlists_search`).
pub(crate) const SEARCH_DOC: &str = "(setweight(to_tsvector('simple', p.title), 'A')
    || setweight(to_tsvector('simple', p.description), 'D'))";

/// The playlists `ids` that may be listed, in that order, as `viewer` sees
/// them (search results).
pub(crate) async fn listed_summaries(
    state: &CatalogState,
    ids: &[Uuid],
    viewer: Option<Uuid>,
) -> Result<Vec<PlaylistSummary>, CatalogError> {
    let mut found = select_summaries(
        state,
        &format!(
            "p.id = ANY($1) AND {}",
            visibility::sql_playlist_listed("p")
        ),
        ids,
        viewer,
        false,
    )
    .await?;
    found.sort_by_key(|s| ids.iter().position(|i| *i == s.id));
    Ok(found)
}

/// Playlists of `owner` as `viewer` sees them in a list: `all` of them
/// (the owner's own list), else the listed ones.
async fn summaries(
    state: &CatalogState,
    owner: Uuid,
    viewer: Option<Uuid>,
    all: bool,
) -> Result<Vec<PlaylistSummary>, CatalogError> {
    let filter = if all {
        "p.owner_id = ANY($1)".to_string()
    } else {
        format!(
            "p.owner_id = ANY($1) AND {}",
            visibility::sql_playlist_listed("p")
        )
    };
    select_summaries(state, &filter, &[owner], viewer, all).await
}

/// Summaries of the playlists `filter` (SQL over `p`, with `$1` = `ids`)
/// picks, latest changed first; `own` shows their visibility.
async fn select_summaries(
    state: &CatalogState,
    filter: &str,
    ids: &[Uuid],
    viewer: Option<Uuid>,
    own: bool,
) -> Result<Vec<PlaylistSummary>, CatalogError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        p: PlaylistRow,
        mixes: i64,
        cover_id: Option<Uuid>,
        cover_version: Option<Uuid>,
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {PLAYLIST_COLUMNS},
                (SELECT count(*) FROM playlist_items i JOIN cloudcasts c ON c.id = i.cloudcast_id
                  WHERE i.playlist_id = p.id AND {shown}) AS mixes,
                cv.id AS cover_id, cv.picture_version AS cover_version
           FROM playlists p JOIN users u ON u.id = p.owner_id
           LEFT JOIN LATERAL (
                SELECT c.id, c.picture_version FROM playlist_items i JOIN cloudcasts c ON c.id = i.cloudcast_id
                 WHERE i.playlist_id = p.id AND {shown}
                 ORDER BY i.position, i.added_at LIMIT 1) cv ON true
          WHERE {filter}
          ORDER BY p.updated_at DESC, p.id LIMIT $3",
        shown = visibility::sql_in_playlist("c", "$2"),
    ))
    .bind(ids)
    .bind(viewer)
    .bind(MAX_PLAYLISTS)
    .fetch_all(&state.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| PlaylistSummary {
            url: url(r.p.id, r.p.visibility, &r.p.secret),
            picture_urls: r
                .cover_id
                .map(|c| crate::pictures::urls(c, r.cover_version)),
            visibility: own.then_some(r.p.visibility),
            id: r.p.id,
            title: r.p.title,
            owner: r.p.owner,
            mixes: r.mixes,
            updated_at: r.p.updated_at,
        })
        .collect())
}

/// `GET /api/v1/users/{username}/playlists`
#[utoipa::path(get, path = "/api/v1/users/{username}/playlists", tag = "playlists",
    summary = "A user's public playlists, latest changed first",
    params(("username" = String, Path, description = "Whose (any case)")),
    responses(
        (status = 200, description = "Their public playlists", body = Vec<PlaylistSummary>),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody)),
    security((), ("session" = [])))]
pub async fn of_user(
    State(state): State<CatalogState>,
    MaybeUser(viewer): MaybeUser,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<Vec<PlaylistSummary>>, CatalogError> {
    let (owner, _) = user_named(&state.pool, &username).await?;
    Ok(Json(summaries(&state, owner, viewer, false).await?))
}

/// `GET /api/v1/me/playlists`
#[utoipa::path(get, path = "/api/v1/me/playlists", tag = "playlists", operation_id = "my_playlists",
    summary = "My playlists, every one, latest changed first",
    responses(
        (status = 200, description = "My playlists", body = Vec<PlaylistSummary>),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn mine(
    State(state): State<CatalogState>,
    AuthUser(me): AuthUser,
) -> Result<Json<Vec<PlaylistSummary>>, CatalogError> {
    Ok(Json(summaries(&state, me, Some(me), true).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_puts_the_mix_where_asked_and_an_addition_last() {
        let [a, b, c] = [1, 2, 3].map(Uuid::from_u128);
        assert_eq!(placed(vec![a, b], c, None), [a, b, c]);
        assert_eq!(placed(vec![a, b, c], c, Some(0)), [c, a, b]);
        assert_eq!(placed(vec![a, b, c], a, Some(1)), [b, a, c]);
        assert_eq!(placed(vec![a, b, c], a, Some(99)), [b, c, a]);
    }

    #[test]
    fn unlisted_playlist_urls_carry_the_secret() {
        let id = Uuid::from_u128(5);
        assert_eq!(url(id, Visibility::Public, "s"), format!("/playlists/{id}"));
        assert_eq!(
            url(id, Visibility::Unlisted, "s"),
            format!("/playlists/{id}?secret=s")
        );
    }
}
