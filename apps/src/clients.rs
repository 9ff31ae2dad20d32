//! The apps developers register (OAuth clients): a name, the exact
//! redirect URIs, a website and a logo. A confidential app (a server)
//! gets a secret, shown once; a public one (native, in a browser) has none
//! and proves itself with PKCE. Deleting an app revokes every grant of it.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use cloudcast_core::auth::{AuthUser, hash_token, require_verified};
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::keys;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::{Host, Url};
use uuid::Uuid;

use crate::{AppsError, AppsState, random_secret};

/// Apps one account may register.
pub const MAX_APPS: u32 = 20;
/// Redirect URIs one app may list.
const MAX_REDIRECTS: usize = 10;
const MAX_URI_CHARS: usize = 2000;
/// The logo is kept as one square of this many pixels.
pub const LOGO_SIZES: [u32; 1] = [128];
/// Secrets look like `ccs_<43 characters>`.
const SECRET_PREFIX: &str = "ccs_";

/// What an app is, as its owner and the public API show it (never a secret).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppInfo {
    pub id: Uuid,
    pub client_id: String,
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: Vec<String>,
    /// `confidential` (it holds a secret) or `public` (PKCE alone).
    pub client_type: &'static str,
    pub logo_url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// People who granted it access now.
    pub people: i64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct AppRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub client_id: String,
    pub secret_hash: Option<Vec<u8>>,
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: Vec<String>,
    pub logo_version: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

pub(crate) const APP_COLUMNS: &str = "id, owner_id, client_id, secret_hash, name, website, \
     redirect_uris, logo_version, created_at";

impl AppRow {
    pub fn logo_url(&self) -> Option<String> {
        logo_url(&self.client_id, self.logo_version)
    }

    fn info(self, people: i64) -> AppInfo {
        AppInfo {
            logo_url: self.logo_url(),
            client_type: if self.secret_hash.is_some() {
                "confidential"
            } else {
                "public"
            },
            id: self.id,
            client_id: self.client_id,
            name: self.name,
            website: self.website,
            redirect_uris: self.redirect_uris,
            created_at: self.created_at,
            people,
        }
    }
}

/// Where an app's logo is served (the version in the URL, so a new logo
/// is a new address).
pub(crate) fn logo_url(client_id: &str, version: Option<Uuid>) -> Option<String> {
    version.map(|v| format!("/api/v1/apps/{client_id}/logo?v={v}"))
}

/// The app with this client id; none while its developer is suspended
/// (its grants were revoked with the decision, and it gets no new ones).
pub(crate) async fn by_client_id(
    pool: &sqlx::PgPool,
    client_id: &str,
) -> Result<Option<AppRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {APP_COLUMNS} FROM oauth_apps a
          WHERE client_id = $1
            AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = a.owner_id AND u.suspended_until > now())"
    ))
    .bind(client_id)
    .fetch_optional(pool)
    .await
}

/// Is `host` this machine (RFC 8252 §7.3: any port is allowed there)?
pub(crate) fn loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A redirect URI an app may register: absolute, no fragment; `https`, or
/// `http` on this machine, or a native app's private-use scheme (a
/// reversed domain such as `com.example.app:/callback`, RFC 8252 §7.1).
pub fn check_redirect_uri(raw: &str) -> Result<String, String> {
    if raw.chars().count() > MAX_URI_CHARS {
        return Err(format!("at most {MAX_URI_CHARS} characters"));
    }
    let url = Url::parse(raw).map_err(|e| format!("{raw:?} is not an absolute URL ({e})"))?;
    if url.fragment().is_some() {
        return Err(format!(
            "{raw:?} has a fragment (#...), which OAuth forbids"
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if loopback(&url) => {}
        "http" => {
            return Err(format!(
                "{raw:?}: plain http is only for this machine (127.0.0.1, [::1], localhost); use https"
            ));
        }
        "javascript" | "data" | "file" | "vbscript" | "blob" | "ftp" | "ws" | "wss" => {
            return Err(format!(
                "{raw:?}: the scheme {} is not a redirect",
                url.scheme()
            ));
        }
        s if s.contains('.') => {}
        s => {
            return Err(format!(
                "{raw:?}: a native app's scheme must be a reversed domain it owns (like com.example.app), not {s:?}"
            ));
        }
    }
    Ok(raw.to_string())
}

fn check_uris(uris: &[String]) -> Result<Vec<String>, AppsError> {
    if uris.is_empty() || uris.len() > MAX_REDIRECTS {
        return Err(AppsError::InvalidField(format!(
            "redirect_uris: give 1 to {MAX_REDIRECTS} addresses"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(uris.len());
    for raw in uris {
        let uri = check_redirect_uri(raw.trim())
            .map_err(|m| AppsError::InvalidField(format!("redirect_uris: {m}")))?;
        if !out.contains(&uri) {
            out.push(uri);
        }
    }
    Ok(out)
}

fn check_website(raw: Option<&str>) -> Result<Option<String>, AppsError> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let ok = raw.chars().count() <= 300
        && Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
    if !ok {
        return Err(AppsError::InvalidField(
            "website: an http(s) address of at most 300 characters".into(),
        ));
    }
    Ok(Some(raw.to_string()))
}

fn check_name(raw: &str) -> Result<String, AppsError> {
    Ok(cloudcast_core::text::clean_text("name", raw, 60)?.replace('\n', " "))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApp {
    /// Shown to people on the consent page (1 to 60 characters).
    #[schema(max_length = 60)]
    pub name: String,
    /// Where people are sent back, matched exactly (on 127.0.0.1, [::1] and
    /// localhost, with any port).
    pub redirect_uris: Vec<String>,
    pub website: Option<String>,
    /// `true` for a server that keeps a secret; `false` (the default) for a
    /// native or browser app, which uses PKCE alone.
    #[serde(default)]
    pub confidential: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedApp {
    #[serde(flatten)]
    pub app: AppInfo,
    /// A confidential app's secret, shown this once; only its hash is kept.
    pub client_secret: Option<String>,
}

/// `POST /api/v1/me/apps`: registers an app.
#[utoipa::path(post, path = "/api/v1/me/apps", tag = "apps",
    summary = "Register a third-party app (an OAuth client)",
    request_body = NewApp,
    responses(
        (status = 201, description = "The app; a confidential app's secret shown once", body = CreatedApp),
        (status = 403, description = "My email is not confirmed yet (`email_unverified`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "Too many apps (`too_many_apps`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A bad name, redirect URI or website", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn create(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
    ApiJson(req): ApiJson<NewApp>,
) -> Result<(StatusCode, Json<CreatedApp>), AppsError> {
    let name = check_name(&req.name)?;
    let uris = check_uris(&req.redirect_uris)?;
    let website = check_website(req.website.as_deref())?;
    require_verified(&state.pool, user, "register apps").await?;
    let mut tx = state.pool.begin().await?;
    // One registration at a time per account, so the count holds.
    sqlx::query("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .execute(&mut *tx)
        .await?;
    let held: i64 = sqlx::query_scalar("SELECT count(*) FROM oauth_apps WHERE owner_id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    if held >= i64::from(MAX_APPS) {
        return Err(AppsError::TooMany(MAX_APPS));
    }
    let secret = req.confidential.then(|| random_secret(SECRET_PREFIX));
    let row: AppRow = sqlx::query_as(&format!(
        "INSERT INTO oauth_apps (id, owner_id, client_id, secret_hash, name, website, redirect_uris)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {APP_COLUMNS}"
    ))
    .bind(Uuid::now_v7())
    .bind(user)
    .bind(random_secret("cci_").chars().take(24).collect::<String>())
    .bind(secret.as_deref().map(hash_token))
    .bind(&name)
    .bind(&website)
    .bind(&uris)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(app_id = %row.id, user_id = %user, "app registered");
    Ok((
        StatusCode::CREATED,
        Json(CreatedApp {
            app: row.info(0),
            client_secret: secret,
        }),
    ))
}

/// `GET /api/v1/me/apps`: the apps I registered.
#[utoipa::path(get, path = "/api/v1/me/apps", tag = "apps",
    summary = "The apps I registered",
    responses((status = 200, description = "Newest first", body = [AppInfo])),
    security(("session" = [])))]
pub async fn list(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<AppInfo>>, AppsError> {
    let apps: Vec<WithPeople> = sqlx::query_as(&format!(
        "SELECT {APP_COLUMNS}, (SELECT count(*) FROM oauth_grants g WHERE g.app_id = a.id) AS people
           FROM oauth_apps a WHERE owner_id = $1 ORDER BY created_at DESC"
    ))
    .bind(user)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        apps.into_iter().map(|a| a.app.info(a.people)).collect(),
    ))
}

#[derive(sqlx::FromRow)]
struct WithPeople {
    #[sqlx(flatten)]
    app: AppRow,
    people: i64,
}

/// One of my apps, or 404 (another's is not named).
async fn mine(state: &AppsState, user: Uuid, id: Uuid) -> Result<AppRow, AppsError> {
    sqlx::query_as(&format!(
        "SELECT {APP_COLUMNS} FROM oauth_apps WHERE id = $1 AND owner_id = $2"
    ))
    .bind(id)
    .bind(user)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppsError::NotFound("app"))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppChange {
    #[schema(max_length = 60)]
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    /// `""` removes it.
    pub website: Option<String>,
}

/// `PATCH /api/v1/me/apps/{id}`: changes the name, redirect URIs or website.
#[utoipa::path(patch, path = "/api/v1/me/apps/{id}", tag = "apps",
    summary = "Change one of my apps",
    params(("id" = Uuid, Path, description = "The app's id")),
    request_body = AppChange,
    responses(
        (status = 200, description = "The app", body = AppInfo),
        (status = 404, description = "No such app of mine", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "A bad name, redirect URI or website", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn change(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(req): ApiJson<AppChange>,
) -> Result<Json<AppInfo>, AppsError> {
    let app = mine(&state, user, id).await?;
    let name = match &req.name {
        Some(n) => check_name(n)?,
        None => app.name,
    };
    let uris = match &req.redirect_uris {
        Some(u) => check_uris(u)?,
        None => app.redirect_uris,
    };
    let website = match &req.website {
        Some(w) => check_website(Some(w))?,
        None => app.website,
    };
    let row: AppRow = sqlx::query_as(&format!(
        "UPDATE oauth_apps SET name = $3, redirect_uris = $4, website = $5
          WHERE id = $1 AND owner_id = $2 RETURNING {APP_COLUMNS}"
    ))
    .bind(id)
    .bind(user)
    .bind(&name)
    .bind(&uris)
    .bind(&website)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(AppsError::NotFound("app"))?;
    let people: i64 = sqlx::query_scalar("SELECT count(*) FROM oauth_grants WHERE app_id = $1")
        .bind(id)
        .fetch_one(&state.pool)
        .await?;
    Ok(Json(row.info(people)))
}

/// `DELETE /api/v1/me/apps/{id}`: the app goes, and every grant, code and
/// token of it with it.
#[utoipa::path(delete, path = "/api/v1/me/apps/{id}", tag = "apps",
    summary = "Delete one of my apps (everyone's access through it ends)",
    params(("id" = Uuid, Path, description = "The app's id")),
    responses(
        (status = 204, description = "Deleted; its grants and tokens revoked"),
        (status = 404, description = "No such app of mine", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn delete(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, AppsError> {
    let gone = sqlx::query("DELETE FROM oauth_apps WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(user)
        .execute(&state.pool)
        .await?;
    if gone.rows_affected() == 0 {
        return Err(AppsError::NotFound("app"));
    }
    if let Err(e) = state
        .storage
        .delete_prefix(&keys::app_logos(user, id))
        .await
    {
        tracing::warn!(app_id = %id, error = %e, "could not delete a deleted app's logo");
    }
    tracing::info!(app_id = %id, user_id = %user, "app deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewSecret {
    /// Shown this once; the old secret stops working now.
    pub client_secret: String,
}

/// `POST /api/v1/me/apps/{id}/secret`: a new secret for a confidential app.
#[utoipa::path(post, path = "/api/v1/me/apps/{id}/secret", tag = "apps",
    summary = "Make a new secret for one of my confidential apps (the old one stops working)",
    params(("id" = Uuid, Path, description = "The app's id")),
    responses(
        (status = 200, description = "The new secret, shown once", body = NewSecret),
        (status = 404, description = "No such app of mine", body = cloudcast_core::apidoc::ErrorBody),
        (status = 409, description = "A public app has no secret (`public_client`)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn new_secret(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<NewSecret>, AppsError> {
    let app = mine(&state, user, id).await?;
    if app.secret_hash.is_none() {
        return Err(AppsError::PublicClient);
    }
    let secret = random_secret(SECRET_PREFIX);
    sqlx::query("UPDATE oauth_apps SET secret_hash = $2 WHERE id = $1")
        .bind(id)
        .bind(hash_token(&secret))
        .execute(&state.pool)
        .await?;
    Ok(Json(NewSecret {
        client_secret: secret,
    }))
}

/// `PUT /api/v1/me/apps/{id}/logo`: the logo (PNG, JPEG or WebP).
#[utoipa::path(put, path = "/api/v1/me/apps/{id}/logo", tag = "apps",
    summary = "Set one of my apps' logo (PNG, JPEG or WebP)",
    description = "At most `uploads.max_avatar_bytes`; made again as a 128 px square JPEG \
        (the upload itself is not kept).",
    params(("id" = Uuid, Path, description = "The app's id")),
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses(
        (status = 204, description = "Stored"),
        (status = 404, description = "No such app of mine", body = cloudcast_core::apidoc::ErrorBody),
        (status = 413, description = "Too large", body = cloudcast_core::apidoc::ErrorBody),
        (status = 415, description = "Not an image we take (`unsupported_image`)", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "Reading the picture took too long (`picture_too_slow`)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn put_logo(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, AppsError> {
    let app = mine(&state, user, id).await?;
    if body.len() > state.max_logo_bytes {
        return Err(AppsError::TooLarge(format!(
            "a logo may be at most {} bytes",
            state.max_logo_bytes
        )));
    }
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let sizes = cloudcast_pictures::squares(body, declared, &LOGO_SIZES).await?;
    let Some((_, jpeg)) = sizes.into_iter().next() else {
        return Err(AppsError::InvalidField("the logo could not be made".into()));
    };
    let version = Uuid::now_v7();
    state
        .storage
        .put_bytes(
            &keys::app_logo(user, id, version),
            jpeg.into(),
            "image/jpeg",
        )
        .await?;
    sqlx::query("UPDATE oauth_apps SET logo_version = $2 WHERE id = $1")
        .bind(id)
        .bind(version)
        .execute(&state.pool)
        .await?;
    if let Some(old) = app.logo_version
        && let Err(e) = state.storage.delete(&keys::app_logo(user, id, old)).await
    {
        tracing::warn!(app_id = %id, error = %e, "could not delete an app's previous logo");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/apps/{client_id}/logo`: an app's logo, for the consent
/// page and connected apps.
#[utoipa::path(get, path = "/api/v1/apps/{client_id}/logo", tag = "apps",
    summary = "An app's logo",
    params(("client_id" = String, Path, description = "The app's client id")),
    responses(
        (status = 200, description = "The square JPEG", content_type = "image/jpeg"),
        (status = 404, description = "No such app, or it has no logo", body = cloudcast_core::apidoc::ErrorBody)))]
pub async fn get_logo(
    State(state): State<AppsState>,
    ApiPath(client_id): ApiPath<String>,
) -> Result<Response, AppsError> {
    let app = by_client_id(&state.pool, &client_id)
        .await?
        .ok_or(AppsError::NotFound("app"))?;
    let Some(version) = app.logo_version else {
        return Err(AppsError::NotFound("logo"));
    };
    let bytes = state
        .storage
        .get_bytes(&keys::app_logo(app.owner_id, app.id, version))
        .await?;
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    // The URL names the version (`?v=`), so a new logo is a new URL.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_an_app_may_register() {
        for ok in [
            "https://app.example/callback",
            "https://app.example/cb?x=1",
            "http://127.0.0.1/callback",
            "http://[::1]:8080/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth",
        ] {
            assert_eq!(check_redirect_uri(ok), Ok(ok.to_string()), "{ok}");
        }
        for bad in [
            "http://app.example/callback",
            "https://app.example/cb#frag",
            "javascript:alert(1)",
            "myapp:/cb",
            "/relative",
            "data:text/html,hi",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }
}
