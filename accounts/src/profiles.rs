//! Optional profile fields (real name, city, country, gender, birth year,
//! bio, links, avatar): each has a visibility, private by default. The public view
//! never includes the email address or any private field.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::{ApiJson, ApiPath, ApiQuery};
use cloudcast_core::keys::{self, AVATAR_SIZES};
use cloudcast_core::storage::Storage;
use cloudcast_core::text::plain_text;
use cloudcast_core::visibility;

use crate::{AccountsError, AccountsState};

/// Fields that carry a visibility.
pub const FIELDS: &[&str] = &[
    "real_name",
    "city",
    "country",
    "gender",
    "birth_year",
    "bio",
    "links",
    "avatar",
];

/// Links a profile may list, and the longest one.
pub const MAX_LINKS: usize = 5;
const MAX_LINK_CHARS: usize = 300;

#[derive(Debug, Default, Clone, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ProfileFields {
    pub real_name: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub gender: Option<String>,
    pub birth_year: Option<i32>,
    pub bio: Option<String>,
    /// A website and socials: `http(s)://` URLs, at most five.
    pub links: Option<Vec<String>>,
}

/// The body of `PUT /api/v1/me/profile` (fields spelled out rather than
/// flattened: serde cannot deny unknown fields through `flatten`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    pub real_name: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub gender: Option<String>,
    pub birth_year: Option<i32>,
    pub bio: Option<String>,
    /// A website and socials: `http(s)://` URLs, at most five.
    #[schema(max_items = 5)]
    pub links: Option<Vec<String>>,
    /// `{"city": "public", ...}`; fields not named stay private.
    #[serde(default)]
    pub visibility: BTreeMap<String, Visibility>,
}

impl ProfileUpdate {
    fn fields(&self) -> ProfileFields {
        ProfileFields {
            real_name: self.real_name.clone(),
            city: self.city.clone(),
            country: self.country.clone(),
            gender: self.gender.clone(),
            birth_year: self.birth_year,
            bio: self.bio.clone(),
            links: self.links.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Private,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OwnProfile {
    #[serde(flatten)]
    pub fields: ProfileFields,
    pub avatar_url: Option<String>,
    pub visibility: BTreeMap<String, Visibility>,
}

fn check_len(name: &str, v: &Option<String>, max: usize) -> Result<(), AccountsError> {
    match v {
        Some(s) => Ok(plain_text(name, s, max, true)?),
        None => Ok(()),
    }
}

/// An absolute `http(s)` URL with a host, short enough to show.
fn check_link(l: &str) -> Result<(), AccountsError> {
    let bad = |why: &str| Err(AccountsError::InvalidField(format!("links: {l:?} {why}")));
    if l.chars().count() > MAX_LINK_CHARS {
        return bad("is too long");
    }
    match url::Url::parse(l) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| !h.is_empty()) =>
        {
            Ok(())
        }
        _ => bad("is not an http:// or https:// address"),
    }
}

pub fn validate(update: &ProfileUpdate, this_year: i32) -> Result<(), AccountsError> {
    let f = &update.fields();
    check_len("real_name", &f.real_name, 100)?;
    check_len("city", &f.city, 100)?;
    check_len("gender", &f.gender, 40)?;
    check_len("bio", &f.bio, 2000)?;
    if let Some(c) = &f.country
        && !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
    {
        return Err(AccountsError::InvalidField(
            "country: an ISO 3166-1 alpha-2 code such as \"GB\"".into(),
        ));
    }
    if let Some(y) = f.birth_year
        && !(1900..=this_year).contains(&y)
    {
        return Err(AccountsError::InvalidField(format!(
            "birth_year: between 1900 and {this_year}"
        )));
    }
    if let Some(links) = &f.links {
        if links.len() > MAX_LINKS {
            return Err(AccountsError::InvalidField(format!(
                "links: at most {MAX_LINKS}"
            )));
        }
        for l in links {
            check_link(l)?;
        }
    }
    for key in update.visibility.keys() {
        if !FIELDS.contains(&key.as_str()) {
            return Err(AccountsError::InvalidField(format!(
                "visibility: unknown field {key:?}; fields are {}",
                FIELDS.join(", ")
            )));
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct StoredProfile {
    #[sqlx(flatten)]
    fields: ProfileFields,
    avatar_key: Option<String>,
    visibility: serde_json::Value,
}

type ProfileRow = (ProfileFields, Option<String>, serde_json::Value);

async fn load(state: &AccountsState, user: Uuid) -> Result<Option<ProfileRow>, AccountsError> {
    let row: Option<StoredProfile> = sqlx::query_as(
        "SELECT real_name, city, country, gender, birth_year, bio, links, avatar_key, visibility
           FROM profiles WHERE user_id = $1",
    )
    .bind(user)
    .fetch_optional(&state.pool)
    .await?;
    Ok(row.map(|r| (r.fields, r.avatar_key, r.visibility)))
}

fn visibility_map(v: &serde_json::Value) -> BTreeMap<String, Visibility> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

fn is_public(vis: &BTreeMap<String, Visibility>, field: &str) -> bool {
    vis.get(field) == Some(&Visibility::Public)
}

async fn username_of(state: &AccountsState, user: Uuid) -> Result<String, AccountsError> {
    sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(AccountsError::NotFound("account"))
}

fn avatar_url(username: &str) -> String {
    format!("/api/v1/users/{username}/avatar")
}

/// `GET /api/v1/me/profile`
#[utoipa::path(get, path = "/api/v1/me/profile", tag = "accounts",
    summary = "My profile, every field",
    responses(
        (status = 200, description = "The profile and each field's visibility", body = OwnProfile),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn get_own(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<OwnProfile>, AccountsError> {
    let username = username_of(&state, user).await?;
    let (fields, avatar, vis) = load(&state, user).await?.unwrap_or((
        ProfileFields::default(),
        None,
        serde_json::json!({}),
    ));
    Ok(Json(OwnProfile {
        fields,
        avatar_url: avatar.map(|_| avatar_url(&username)),
        visibility: visibility_map(&vis),
    }))
}

/// `PUT /api/v1/me/profile`: replaces the optional fields and their visibility.
#[utoipa::path(put, path = "/api/v1/me/profile", tag = "accounts",
    summary = "Change my profile and what is public",
    request_body = ProfileUpdate,
    responses(
        (status = 200, description = "The profile", body = OwnProfile),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A field is invalid", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn put_own(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    ApiJson(update): ApiJson<ProfileUpdate>,
) -> Result<Json<OwnProfile>, AccountsError> {
    validate(&update, time::OffsetDateTime::now_utc().year())?;
    let f = &update.fields();
    let vis = serde_json::to_value(&update.visibility)
        .map_err(|e| AccountsError::InvalidField(format!("visibility: {e}")))?;
    sqlx::query(
        "INSERT INTO profiles (user_id, real_name, city, country, gender, birth_year, bio, links, visibility)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (user_id) DO UPDATE SET real_name = $2, city = $3, country = $4, gender = $5,
             birth_year = $6, bio = $7, links = $8, visibility = $9, updated_at = now()",
    )
    .bind(user)
    .bind(&f.real_name)
    .bind(&f.city)
    .bind(&f.country)
    .bind(&f.gender)
    .bind(f.birth_year)
    .bind(&f.bio)
    .bind(&f.links)
    .bind(vis)
    .execute(&state.pool)
    .await?;
    get_own(State(state), AuthUser(user)).await
}

#[derive(Debug, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct PublicUser {
    pub username: String,
    /// Only the fields their owner made public.
    pub profile: BTreeMap<String, serde_json::Value>,
    pub avatar_url: Option<String>,
    /// Their public cloudcasts.
    pub cloudcasts: i64,
    /// Followers and followed users (never counting minors); `null` for a
    /// minor, whose follow lists are never public.
    pub followers: Option<i64>,
    pub following: Option<i64>,
    /// The profile takes comments (its owner's switch; never a minor's).
    #[serde(default)]
    pub comments_open: bool,
}

#[derive(sqlx::FromRow)]
struct PublicCounts {
    cloudcasts: i64,
    followers: Option<i64>,
    following: Option<i64>,
    comments_open: bool,
}

/// `GET /api/v1/users/{username}`: the public view. Never the email.
#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "users",
    summary = "A user's public profile (username and public fields only)",
    params(("username" = String, Path, description = "The user's username")),
    responses(
        (status = 200, description = "The public view; never the email", body = PublicUser),
        (status = 404, description = "No such user", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn get_public(
    State(state): State<AccountsState>,
    ApiPath(username): ApiPath<String>,
) -> Result<Json<PublicUser>, AccountsError> {
    let row: Option<(Uuid, String)> = sqlx::query_as(&format!(
        "SELECT u.id, u.username FROM users u WHERE lower(u.username) = lower($1) AND {}",
        visibility::sql_account_active("u")
    ))
    .bind(&username)
    .fetch_optional(&state.pool)
    .await?;
    let (id, username) = row.ok_or(AccountsError::NotFound("user"))?;
    let counts: PublicCounts = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM cloudcasts c WHERE c.owner_id = me.id AND {listed}) AS cloudcasts,
                CASE WHEN {me_public} THEN
                  (SELECT count(*) FROM follows f JOIN users o ON o.id = f.follower_id
                    WHERE f.followee_id = me.id AND {o_public}) END AS followers,
                CASE WHEN {me_public} THEN
                  (SELECT count(*) FROM follows f JOIN users o ON o.id = f.followee_id
                    WHERE f.follower_id = me.id AND {o_public}) END AS following,
                {open} AS comments_open
           FROM users me WHERE me.id = $1",
        open = visibility::sql_profile_comments_open("me"),
        listed = visibility::sql_listed("c"),
        me_public = visibility::sql_public_activity("me"),
        o_public = visibility::sql_public_activity("o"),
    ))
    .bind(id)
    .fetch_one(&state.pool)
    .await?;
    let mut profile = BTreeMap::new();
    let mut avatar_public = None;
    if let Some((f, avatar, vis)) = load(&state, id).await? {
        let vis = visibility_map(&vis);
        let mut put = |k: &'static str, v: serde_json::Value| {
            if is_public(&vis, k) && !v.is_null() {
                profile.insert(k.to_string(), v);
            }
        };
        put("real_name", serde_json::json!(f.real_name));
        put("city", serde_json::json!(f.city));
        put("country", serde_json::json!(f.country));
        put("gender", serde_json::json!(f.gender));
        put("birth_year", serde_json::json!(f.birth_year));
        put("bio", serde_json::json!(f.bio));
        put("links", serde_json::json!(f.links));
        if avatar.is_some() && is_public(&vis, "avatar") {
            avatar_public = Some(avatar_url(&username));
        }
    }
    Ok(Json(PublicUser {
        username,
        profile,
        avatar_url: avatar_public,
        cloudcasts: counts.cloudcasts,
        followers: counts.followers,
        following: counts.following,
        comments_open: counts.comments_open,
    }))
}

/// `PUT /api/v1/me/avatar`: the image as the body (PNG, JPEG or WebP).
#[utoipa::path(put, path = "/api/v1/me/avatar", tag = "accounts",
    summary = "Upload my avatar (PNG, JPEG or WebP)",
    description = "At most `uploads.max_avatar_bytes` and 6000 x 6000 pixels; made again as 100 \
        and 300 px square JPEGs (the upload itself, and metadata such as a GPS position, are \
        not kept). At most `limits.pictures_per_hour_per_account` pictures and avatars an hour.",
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses(
        (status = 204, description = "Stored"),
        (status = 413, description = "Too large", body = cloudcast_core::apidoc::ErrorBody),
        (status = 415, description = "Not an image we take, unreadable, or too many pixels (`unsupported_image`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Reading the picture took longer than 5 s (`picture_too_slow`)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn put_avatar(
    State(state): State<AccountsState>,
    AuthUser(user): AuthUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AccountsError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let max = state.max_avatar_bytes;
    if body.len() > max {
        return Err(AccountsError::TooLarge(format!(
            "an avatar may be at most {max} bytes"
        )));
    }
    let sizes = cloudcast_pictures::squares(body, declared, &AVATAR_SIZES).await?;
    store_avatar(&state.pool, &state.storage, user, sizes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Stores an avatar's sizes as a new version, makes it the profile's and
/// deletes the one before (or an upload kept as it came, from before
/// avatars were made again).
async fn store_avatar(
    pool: &sqlx::PgPool,
    storage: &Storage,
    user: Uuid,
    sizes: Vec<(u32, Vec<u8>)>,
) -> Result<(), AccountsError> {
    let version = Uuid::now_v7();
    for (size, jpeg) in sizes {
        storage
            .put_bytes(
                &keys::avatar(user, version, size),
                jpeg.into(),
                "image/jpeg",
            )
            .await?;
    }
    // The largest size is the avatar's key: the one the data export holds.
    let largest = AVATAR_SIZES.iter().copied().max().unwrap_or(300);
    let key = keys::avatar(user, version, largest);
    let old: Option<(Option<String>, Option<Uuid>)> = sqlx::query_as(
        "WITH old AS (SELECT avatar_key, avatar_version FROM profiles WHERE user_id = $1 FOR UPDATE)
         INSERT INTO profiles (user_id, avatar_key, avatar_type, avatar_version)
         VALUES ($1, $2, 'image/jpeg', $3)
         ON CONFLICT (user_id) DO UPDATE
            SET avatar_key = $2, avatar_type = 'image/jpeg', avatar_version = $3, updated_at = now()
         RETURNING (SELECT avatar_key FROM old), (SELECT avatar_version FROM old)",
    )
    .bind(user)
    .bind(&key)
    .bind(version)
    .fetch_optional(pool)
    .await?;
    let gone = match old {
        Some((_, Some(v))) => storage
            .delete_prefix(&keys::avatar_version(user, v))
            .await
            .map(|_| ()),
        Some((Some(k), None)) => storage.delete(&k).await,
        _ => Ok(()),
    };
    if let Err(e) = gone {
        tracing::warn!(user_id = %user, error = %e, "could not delete the previous avatar");
    }
    Ok(())
}

/// Avatars stored as they were uploaded, before avatars were made again,
/// are made again once (at start-up, in the background): until then they
/// are not served; one that cannot be read is removed.
pub async fn remake_stored_avatars(pool: sqlx::PgPool, storage: Storage) {
    let rows: Vec<(Uuid, String, String)> = match sqlx::query_as(
        "SELECT user_id, avatar_key, coalesce(avatar_type, '') FROM profiles
          WHERE avatar_key IS NOT NULL AND avatar_version IS NULL",
    )
    .fetch_all(&pool)
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "could not look for avatars to make again");
            return;
        }
    };
    for (user, key, kind) in rows {
        let made = match storage.get_bytes(&key).await {
            Ok(bytes) => cloudcast_pictures::squares(bytes, kind, &AVATAR_SIZES)
                .await
                .map_err(AccountsError::from),
            Err(e) => Err(e.into()),
        };
        let result = match made {
            Ok(sizes) => store_avatar(&pool, &storage, user, sizes).await,
            Err(e) => {
                tracing::warn!(user_id = %user, error = %e, "a stored avatar cannot be made again; removed");
                let cleared = sqlx::query(
                    "UPDATE profiles SET avatar_key = NULL, avatar_type = NULL
                      WHERE user_id = $1 AND avatar_version IS NULL",
                )
                .bind(user)
                .execute(&pool)
                .await;
                match cleared {
                    Ok(_) => storage.delete(&key).await.map_err(AccountsError::from),
                    Err(e) => Err(e.into()),
                }
            }
        };
        if let Err(e) = result {
            tracing::warn!(user_id = %user, error = %e, "making a stored avatar again failed");
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AvatarQuery {
    /// 100 or 300 (the default).
    #[param(minimum = 100, maximum = 300)]
    pub size: Option<u32>,
}

/// `GET /api/v1/users/{username}/avatar`: only when the owner made it public.
#[utoipa::path(get, path = "/api/v1/users/{username}/avatar", tag = "users",
    summary = "A user's avatar, when public",
    params(("username" = String, Path, description = "The user's username"), AvatarQuery),
    responses(
        (status = 200, description = "The square JPEG", content_type = "image/jpeg"),
        (status = 404, description = "No avatar, or it is private, or no such size", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn get_avatar(
    State(state): State<AccountsState>,
    ApiPath(username): ApiPath<String>,
    ApiQuery(q): ApiQuery<AvatarQuery>,
) -> Result<Response, AccountsError> {
    let size = q.size.unwrap_or(AVATAR_SIZES[AVATAR_SIZES.len() - 1]);
    if !AVATAR_SIZES.contains(&size) {
        return Err(AccountsError::NotFound("avatar size"));
    }
    let row: Option<(Uuid, Option<Uuid>, serde_json::Value)> = sqlx::query_as(&format!(
        "SELECT u.id, p.avatar_version, p.visibility FROM users u JOIN profiles p ON p.user_id = u.id
          WHERE lower(u.username) = lower($1) AND {active}",
        active = visibility::sql_account_active("u")
    ))
    .bind(&username)
    .fetch_optional(&state.pool)
    .await?;
    // An avatar stored as uploaded (before avatars were made again) is
    // never served: it waits to be made again.
    let Some((user, Some(version), vis)) = row else {
        return Err(AccountsError::NotFound("avatar"));
    };
    if !is_public(&visibility_map(&vis), "avatar") {
        return Err(AccountsError::NotFound("avatar"));
    }
    let bytes = state
        .storage
        .get_bytes(&keys::avatar(user, version, size))
        .await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(json: serde_json::Value) -> Result<ProfileUpdate, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn profile_rules() {
        let ok = update(
            serde_json::json!({"city": "Leeds", "country": "GB", "birth_year": 1990, "visibility": {"city": "public"}}),
        );
        assert!(ok.as_ref().is_ok_and(|u| validate(u, 2026).is_ok()));
        let bad_country = update(serde_json::json!({"country": "England"}));
        assert!(
            bad_country
                .as_ref()
                .is_ok_and(|u| validate(u, 2026).is_err())
        );
        let bad_field = update(serde_json::json!({"visibility": {"email": "public"}}));
        assert!(bad_field.as_ref().is_ok_and(|u| validate(u, 2026).is_err()));
        let future = update(serde_json::json!({"birth_year": 2030}));
        assert!(future.as_ref().is_ok_and(|u| validate(u, 2026).is_err()));
        assert!(update(serde_json::json!({"email": "x@y.z"})).is_err());
        assert!(update(serde_json::json!({"visibility": {"city": "friends"}})).is_err());
    }

    #[test]
    fn links_are_a_few_web_addresses() {
        let check = |links: serde_json::Value| {
            update(serde_json::json!({"links": links, "visibility": {"links": "public"}}))
                .map(|u| validate(&u, 2026).is_ok())
                .unwrap_or(false)
        };
        assert!(check(serde_json::json!([
            "https://sunbeam.example",
            "http://x.example/dj?a=1"
        ])));
        for bad in [
            "javascript:alert(1)",
            "sunbeam.example",
            "https://",
            "ftp://x.example",
            "mailto:a@b.c",
        ] {
            assert!(!check(serde_json::json!([bad])), "{bad}");
        }
        let six: Vec<String> = (0..6).map(|i| format!("https://x{i}.example")).collect();
        assert!(!check(serde_json::json!(six)));
        assert!(!check(serde_json::json!([format!(
            "https://x.example/{}",
            "a".repeat(300)
        )])));
    }
}
