//! The token endpoint (RFC 6749 §3.2: a code for tokens, a refresh token
//! for new ones), revocation (RFC 7009) and the server's metadata (RFC
//! 8414). Access tokens live an hour as sessions bound to the grant and
//! its scopes; refresh tokens 30 days, rotated on every use, and one used
//! twice revokes every token of its family (RFC 9700 §4.14.2), as a code
//! used twice revokes what it was exchanged for (RFC 6749 §4.1.2).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cloudcast_core::auth::hash_token;
use cloudcast_core::scopes::{self, ACCESS_PREFIX, REFRESH_PREFIX, Scope};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::authorize::{pkce_text, s256};
use crate::clients::{self, AppRow};
use crate::{ACCESS_SECS, AppsState, OAuthError, REFRESH_DAYS, random_secret};

/// The form of a token request (either grant).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TokenRequest {
    /// `authorization_code` or `refresh_token`.
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    /// Narrows a refresh to fewer scopes.
    pub scope: Option<String>,
    /// A public app names itself here; a confidential one may send its
    /// secret here instead of HTTP Basic.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token lives (3600).
    pub expires_in: i64,
    pub refresh_token: String,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// RFC 6749 §5.2's error body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `invalid_scope`,
    /// `unsupported_grant_type`, `server_error`.
    error: String,
    error_description: String,
}

/// Who the client says it is: HTTP Basic (RFC 6749 §2.3.1, each part
/// form-encoded) or the body's `client_id` (and `client_secret`).
fn client_credentials(
    headers: &HeaderMap,
    id: Option<&str>,
    secret: Option<&str>,
) -> Result<(String, Option<String>), OAuthError> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let basic = v
            .to_str()
            .ok()
            .and_then(|v| v.split_once(' '))
            .filter(|(s, _)| s.eq_ignore_ascii_case("basic"))
            .and_then(|(_, b)| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                let (i, p) = s.split_once(':')?;
                let dec = |x: &str| {
                    url::form_urlencoded::parse(format!("x={x}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                };
                Some((dec(i)?, dec(p)?))
            });
        let Some((i, p)) = basic else {
            return Err(OAuthError::InvalidClient(
                "the Authorization header must be HTTP Basic with the client id and secret",
            ));
        };
        if id.is_some_and(|b| b != i) {
            return Err(OAuthError::InvalidRequest(
                "client_id in the body differs from the one in Authorization".into(),
            ));
        }
        if secret.is_some() {
            // RFC 6749 §2.3: one way of authenticating per request.
            return Err(OAuthError::InvalidRequest(
                "send the client secret once: in Authorization or in the body, not both".into(),
            ));
        }
        return Ok((i, Some(p)));
    }
    match id {
        Some(i) if !i.is_empty() => Ok((i.to_string(), secret.map(str::to_string))),
        _ => Err(OAuthError::InvalidClient(
            "name the app: client_id in the body, or HTTP Basic with its secret",
        )),
    }
}

/// The app making the request, proven: a confidential app by its secret,
/// a public one by its id (its codes are bound to PKCE).
async fn authenticate(
    state: &AppsState,
    headers: &HeaderMap,
    id: Option<&str>,
    secret: Option<&str>,
) -> Result<AppRow, OAuthError> {
    let (id, secret) = client_credentials(headers, id, secret)?;
    if id.len() > 64 {
        return Err(OAuthError::InvalidClient("no app has this client_id"));
    }
    let app = clients::by_client_id(&state.pool, &id)
        .await?
        .ok_or(OAuthError::InvalidClient("no app has this client_id"))?;
    match (&app.secret_hash, secret) {
        (Some(stored), Some(given)) if constant_eq(stored, &hash_token(&given)) => Ok(app),
        (Some(_), _) => Err(OAuthError::InvalidClient(
            "the client secret is missing or wrong",
        )),
        (None, None) => Ok(app),
        (None, Some(s)) if s.is_empty() => Ok(app),
        (None, Some(_)) => Err(OAuthError::InvalidClient(
            "this app is public: it has no secret",
        )),
    }
}

/// A form posted to the token or revocation endpoint: who sent it.
trait ClientForm {
    fn client(&self) -> (Option<&str>, Option<&str>);
}

impl ClientForm for TokenRequest {
    fn client(&self) -> (Option<&str>, Option<&str>) {
        (self.client_id.as_deref(), self.client_secret.as_deref())
    }
}

impl ClientForm for RevokeRequest {
    fn client(&self) -> (Option<&str>, Option<&str>) {
        (self.client_id.as_deref(), self.client_secret.as_deref())
    }
}

/// The endpoints' shared first step: the form read, and the app that
/// sent it proven ([`authenticate`]).
async fn read_form<T: ClientForm>(
    state: &AppsState,
    headers: &HeaderMap,
    form: Result<Form<T>, axum::extract::rejection::FormRejection>,
) -> Result<(T, AppRow), OAuthError> {
    let Form(req) = form.map_err(|e| OAuthError::InvalidRequest(e.body_text()))?;
    let (id, secret) = req.client();
    let app = authenticate(state, headers, id, secret).await?;
    Ok((req, app))
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Revokes every token of a family (a code or refresh token used twice).
async fn revoke_family(conn: &mut PgConnection, family: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM auth_tokens WHERE family = $1")
        .bind(family)
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM oauth_refresh_tokens WHERE family = $1")
        .bind(family)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A new access token with `scopes` and a refresh token of `family` with
/// `refresh_scopes` (RFC 6749 §6: a refresh narrowed to fewer scopes keeps
/// the grant's for the next one).
async fn mint(
    conn: &mut PgConnection,
    grant: Uuid,
    user: Uuid,
    family: Uuid,
    scopes: &[String],
    refresh_scopes: &[String],
) -> Result<TokenResponse, sqlx::Error> {
    let access = random_secret(ACCESS_PREFIX);
    let refresh = random_secret(REFRESH_PREFIX);
    sqlx::query(&format!(
        "INSERT INTO auth_tokens (token_hash, user_id, expires_at, grant_id, family, scopes)
         VALUES ($1, $2, now() + interval '{ACCESS_SECS} seconds', $3, $4, $5)"
    ))
    .bind(hash_token(&access))
    .bind(user)
    .bind(grant)
    .bind(family)
    .bind(scopes)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, family, scopes, expires_at)
         VALUES ($1, $2, $3, $4, now() + interval '{REFRESH_DAYS} days')"
    ))
    .bind(hash_token(&refresh))
    .bind(grant)
    .bind(family)
    .bind(refresh_scopes)
    .execute(&mut *conn)
    .await?;
    // Expired refresh tokens can no longer be reused to any effect.
    sqlx::query("DELETE FROM oauth_refresh_tokens WHERE expires_at < now()")
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE oauth_grants SET last_used_at = now() WHERE id = $1")
        .bind(grant)
        .execute(&mut *conn)
        .await?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: ACCESS_SECS,
        refresh_token: refresh,
        scope: scopes.join(" "),
    })
}

/// Adds the headers RFC 6749 §5.1 asks of token answers.
fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// `POST /oauth/token`.
#[utoipa::path(post, path = "/oauth/token", tag = "apps",
    summary = "Exchange a code, or a refresh token, for tokens (OAuth 2.0)",
    description = "`application/x-www-form-urlencoded`. `authorization_code`: `code`, \
        `redirect_uri` and `code_verifier` (PKCE S256). `refresh_token`: `refresh_token` and \
        optionally a narrower `scope`; the refresh token is rotated, and one presented twice \
        revokes its whole family. A confidential app authenticates with HTTP Basic or \
        `client_secret`; a public one sends `client_id`.",
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The tokens", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `invalid_scope` or `unsupported_grant_type` (RFC 6749 §5.2)", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody)))]
pub async fn token(
    State(state): State<AppsState>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let result = async {
        let (req, app) = read_form(&state, &headers, form).await?;
        match req.grant_type.as_deref() {
            Some("authorization_code") => exchange_code(&state, &app, &req).await,
            Some("refresh_token") => refresh(&state, &app, &req).await,
            None => Err(OAuthError::InvalidRequest("grant_type is missing".into())),
            Some(_) => Err(OAuthError::UnsupportedGrantType),
        }
    }
    .await;
    match result {
        Ok(t) => no_store(Json(t).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn exchange_code(
    state: &AppsState,
    app: &AppRow,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let Some(code) = req
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 128)
    else {
        return Err(OAuthError::InvalidRequest("code is missing".into()));
    };
    let mut tx = state.pool.begin().await?;
    #[derive(sqlx::FromRow)]
    struct Code {
        grant_id: Uuid,
        redirect_uri: String,
        scopes: Vec<String>,
        code_challenge: Option<String>,
        family: Uuid,
        live: bool,
        used: bool,
        app_id: Uuid,
        user_id: Uuid,
        suspended: bool,
    }
    let row: Option<Code> = sqlx::query_as(
        "SELECT c.grant_id, c.redirect_uri, c.scopes, c.code_challenge, c.family,
                c.expires_at > now() AS live, c.used_at IS NOT NULL AS used,
                g.app_id, g.user_id, COALESCE(u.suspended_until > now(), false) AS suspended
           FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id JOIN users u ON u.id = g.user_id
          WHERE c.code_hash = $1 FOR UPDATE OF c FOR SHARE OF g",
    )
    .bind(hash_token(code))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(c) = row.filter(|c| c.app_id == app.id) else {
        return Err(OAuthError::InvalidGrant("the code is unknown"));
    };
    if c.used {
        revoke_family(&mut tx, c.family).await?;
        tx.commit().await?;
        tracing::warn!(app_id = %app.id, user_id = %c.user_id, "an authorization code was used twice; its tokens are revoked");
        return Err(OAuthError::InvalidGrant(
            "the code was used already; the tokens issued for it are revoked",
        ));
    }
    if !c.live {
        return Err(OAuthError::InvalidGrant(
            "the code expired (codes live one minute)",
        ));
    }
    if req.redirect_uri.as_deref() != Some(c.redirect_uri.as_str()) {
        return Err(OAuthError::InvalidGrant(
            "redirect_uri differs from the authorization request's",
        ));
    }
    match (&c.code_challenge, req.code_verifier.as_deref()) {
        (Some(challenge), Some(v)) if pkce_text(v, 43) && s256(v) == *challenge => {}
        (Some(_), None) => {
            return Err(OAuthError::InvalidGrant("code_verifier is missing (PKCE)"));
        }
        (Some(_), Some(_)) => {
            return Err(OAuthError::InvalidGrant(
                "code_verifier does not match the code_challenge",
            ));
        }
        (None, Some(_)) => {
            return Err(OAuthError::InvalidGrant(
                "code_verifier sent for a code asked without a code_challenge",
            ));
        }
        (None, None) => {}
    }
    if c.suspended {
        return Err(OAuthError::InvalidGrant("the account is suspended"));
    }
    sqlx::query("UPDATE oauth_codes SET used_at = now() WHERE code_hash = $1")
        .bind(hash_token(code))
        .execute(&mut *tx)
        .await?;
    let tokens = mint(
        &mut tx, c.grant_id, c.user_id, c.family, &c.scopes, &c.scopes,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(app_id = %app.id, user_id = %c.user_id, "tokens issued for a code");
    Ok(tokens)
}

async fn refresh(
    state: &AppsState,
    app: &AppRow,
    req: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let Some(token) = req
        .refresh_token
        .as_deref()
        .filter(|t| !t.is_empty() && t.len() <= 128)
    else {
        return Err(OAuthError::InvalidRequest(
            "refresh_token is missing".into(),
        ));
    };
    let mut tx = state.pool.begin().await?;
    #[derive(sqlx::FromRow)]
    struct Refresh {
        grant_id: Uuid,
        family: Uuid,
        scopes: Vec<String>,
        live: bool,
        used: bool,
        app_id: Uuid,
        user_id: Uuid,
        suspended: bool,
    }
    let row: Option<Refresh> = sqlx::query_as(
        "SELECT r.grant_id, r.family, r.scopes, r.expires_at > now() AS live,
                r.used_at IS NOT NULL AS used, g.app_id, g.user_id,
                COALESCE(u.suspended_until > now(), false) AS suspended
           FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id
           JOIN users u ON u.id = g.user_id
          WHERE r.token_hash = $1 FOR UPDATE OF r FOR SHARE OF g",
    )
    .bind(hash_token(token))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row.filter(|r| r.app_id == app.id) else {
        return Err(OAuthError::InvalidGrant(
            "the refresh token is unknown or revoked",
        ));
    };
    if r.used {
        revoke_family(&mut tx, r.family).await?;
        tx.commit().await?;
        tracing::warn!(app_id = %app.id, user_id = %r.user_id, "a refresh token was used twice; its family is revoked");
        return Err(OAuthError::InvalidGrant(
            "the refresh token was used already; every token of its family is revoked",
        ));
    }
    if !r.live {
        return Err(OAuthError::InvalidGrant("the refresh token expired"));
    }
    if r.suspended {
        return Err(OAuthError::InvalidGrant("the account is suspended"));
    }
    let scopes: Vec<String> = match req.scope.as_deref() {
        None => r.scopes.clone(),
        Some(s) => {
            let asked: Vec<Scope> = scopes::parse_list(s)
                .map_err(|u| OAuthError::InvalidScope(format!("unknown scope {u:?}")))?;
            if asked.is_empty()
                || asked
                    .iter()
                    .any(|a| !r.scopes.iter().any(|g| g == a.as_str()))
            {
                return Err(OAuthError::InvalidScope(
                    "a refresh may only narrow the scopes granted".into(),
                ));
            }
            asked.iter().map(|a| a.as_str().to_string()).collect()
        }
    };
    sqlx::query("UPDATE oauth_refresh_tokens SET used_at = now() WHERE token_hash = $1")
        .bind(hash_token(token))
        .execute(&mut *tx)
        .await?;
    let tokens = mint(&mut tx, r.grant_id, r.user_id, r.family, &scopes, &r.scopes).await?;
    tx.commit().await?;
    Ok(tokens)
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RevokeRequest {
    pub token: Option<String>,
    /// `access_token` or `refresh_token`; either is looked for anyway.
    pub token_type_hint: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// `POST /oauth/revoke` (RFC 7009): an access token ends at once; a
/// refresh token ends with every token of its family. Tokens unknown or of
/// another app are answered 200 too, as the RFC asks.
#[utoipa::path(post, path = "/oauth/revoke", tag = "apps",
    summary = "Revoke an access or refresh token (RFC 7009)",
    request_body(content = RevokeRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Revoked (or it was not this app's, or unknown)"),
        (status = 400, description = "`invalid_request`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody)))]
pub async fn revoke(
    State(state): State<AppsState>,
    headers: HeaderMap,
    form: Result<Form<RevokeRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let result = async {
        let (req, app) = read_form(&state, &headers, form).await?;
        let Some(token) = req
            .token
            .as_deref()
            .filter(|t| !t.is_empty() && t.len() <= 128)
        else {
            return Err(OAuthError::InvalidRequest("token is missing".into()));
        };
        let hash = hash_token(token);
        let mut tx = state.pool.begin().await?;
        let family: Option<Uuid> = sqlx::query_scalar(
            "SELECT r.family FROM oauth_refresh_tokens r JOIN oauth_grants g ON g.id = r.grant_id
              WHERE r.token_hash = $1 AND g.app_id = $2",
        )
        .bind(&hash)
        .bind(app.id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(family) = family {
            revoke_family(&mut tx, family).await?;
        } else {
            sqlx::query(
                "DELETE FROM auth_tokens a USING oauth_grants g
                  WHERE a.token_hash = $1 AND g.id = a.grant_id AND g.app_id = $2",
            )
            .bind(&hash)
            .bind(app.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub revocation_endpoint: String,
    pub scopes_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub authorization_response_iss_parameter_supported: bool,
    pub service_documentation: String,
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "apps",
    summary = "The OAuth 2.0 authorization server's metadata (RFC 8414)",
    responses((status = 200, description = "Endpoints, scopes and methods", body = ServerMetadata)))]
pub async fn metadata(State(state): State<AppsState>) -> Response {
    let base = state.public_url.trim_end_matches('/');
    let auth_methods = vec!["client_secret_basic", "client_secret_post", "none"];
    let m = ServerMetadata {
        issuer: state.public_url.to_string(),
        authorization_endpoint: format!("{base}/oauth/authorize"),
        token_endpoint: format!("{base}/oauth/token"),
        revocation_endpoint: format!("{base}/oauth/revoke"),
        scopes_supported: Scope::ALL.iter().map(|s| s.as_str()).collect(),
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query"],
        grant_types_supported: vec!["authorization_code", "refresh_token"],
        code_challenge_methods_supported: vec!["S256"],
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        revocation_endpoint_auth_methods_supported: auth_methods,
        authorization_response_iss_parameter_supported: true,
        service_documentation: format!("{base}/developers"),
    };
    let mut resp = Json(m).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let v = format!("Basic {}", STANDARD.encode("my%3Aid:s%2Bcret"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&v).expect("header"),
        );
        let (id, secret) = client_credentials(&h, None, None).expect("credentials");
        assert_eq!((id.as_str(), secret.as_deref()), ("my:id", Some("s+cret")));
        assert!(client_credentials(&h, Some("other"), None).is_err());
        assert!(
            client_credentials(&h, None, Some("s+cret")).is_err(),
            "two ways at once"
        );
        assert!(client_credentials(&HeaderMap::new(), None, None).is_err());
        let (id, secret) =
            client_credentials(&HeaderMap::new(), Some("pub"), None).expect("public");
        assert_eq!((id.as_str(), secret), ("pub", None));
    }
}
