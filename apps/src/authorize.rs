//! The authorization step (RFC 6749 §4.1, PKCE RFC 7636): the consent page
//! (`site`, `/oauth/authorize`) asks here whether a request is sound and
//! what it asks for, and posts the person's answer; a yes stores the grant
//! and a one-minute, single-use code, and names where to send the person.
//!
//! A request whose app or redirect URI is wrong is answered here and never
//! redirected (an open redirector otherwise); any other fault goes back to
//! the app's redirect URI with `error` and the `state` it sent.

use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudcast_core::auth::{AuthUser, hash_token};
use cloudcast_core::extract::{ApiJson, ApiQuery};
use cloudcast_core::scopes::{self, Scope};
use serde::{Deserialize, Serialize};
use url::Url;
use uuid::Uuid;

use crate::clients::{self, AppRow, loopback};
use crate::{AppsError, AppsState, CODE_SECS, random_secret};

/// An authorization request's parameters, as the app sent them.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeParams {
    /// Must be `code`.
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    /// Space-separated: `read`, `write`, `upload`, `stats`; `read` if absent.
    pub scope: Option<String>,
    /// Returned to the app as it came.
    pub state: Option<String>,
    /// BASE64URL(SHA-256(code_verifier)); required of public apps.
    pub code_challenge: Option<String>,
    /// Must be `S256`.
    pub code_challenge_method: Option<String>,
}

/// A sound request.
pub(crate) struct Checked {
    pub app: AppRow,
    pub redirect_uri: String,
    pub scopes: Vec<Scope>,
    pub state: Option<String>,
    pub challenge: Option<String>,
}

/// Does `given` name one of `registered` exactly (on this machine, with
/// any port: a native app listens on whichever is free)?
pub(crate) fn redirect_matches(registered: &[String], given: &str) -> bool {
    if registered.iter().any(|r| r == given) {
        return true;
    }
    let Ok(g) = Url::parse(given) else {
        return false;
    };
    if !loopback(&g) || g.scheme() != "http" {
        return false;
    }
    registered.iter().any(|r| {
        Url::parse(r).is_ok_and(|mut r| {
            loopback(&r)
                && r.host() == g.host()
                && r.set_port(g.port()).is_ok()
                && r.as_str() == g.as_str()
        })
    })
}

/// `redirect_uri` with `params` added to its query.
pub(crate) fn with_query(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    match Url::parse(redirect_uri) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.into()
        }
        Err(_) => redirect_uri.to_string(),
    }
}

fn refused(code: &'static str, message: impl Into<String>) -> AppsError {
    AppsError::Refused {
        code,
        message: message.into(),
        redirect: None,
    }
}

/// Is `s` a PKCE challenge or verifier: `min..=128` unreserved characters?
pub(crate) fn pkce_text(s: &str, min: usize) -> bool {
    (min..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// BASE64URL(SHA-256(verifier)), the S256 challenge of a verifier.
pub(crate) fn s256(verifier: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()))
}

pub(crate) async fn check(state: &AppsState, p: &AuthorizeParams) -> Result<Checked, AppsError> {
    let client_id = p.client_id.as_deref().unwrap_or_default();
    let app = match client_id {
        "" => return Err(refused("invalid_request", "client_id is missing")),
        id if id.len() > 64 => return Err(refused("invalid_client", "no app has this client_id")),
        id => clients::by_client_id(&state.pool, id)
            .await?
            .ok_or_else(|| refused("invalid_client", "no app has this client_id"))?,
    };
    let Some(redirect_uri) = p.redirect_uri.clone().filter(|r| !r.is_empty()) else {
        return Err(refused(
            "invalid_request",
            "redirect_uri is missing: send one of the app's registered addresses",
        ));
    };
    if !redirect_matches(&app.redirect_uris, &redirect_uri) {
        return Err(refused(
            "invalid_redirect_uri",
            "redirect_uri is not one the app registered (they are matched exactly)",
        ));
    }
    // From here on the app's own address hears of a fault.
    let state_param = p.state.clone();
    let back = |code: &'static str, message: String| {
        let mut params = vec![("error", code), ("error_description", message.as_str())];
        if let Some(s) = state_param.as_deref() {
            params.push(("state", s));
        }
        let issuer = state.public_url.to_string();
        params.push(("iss", issuer.as_str()));
        AppsError::Refused {
            code,
            redirect: Some(with_query(&redirect_uri, &params)),
            message,
        }
    };
    if p.response_type.as_deref() != Some("code") {
        return Err(back(
            "unsupported_response_type",
            "response_type must be code".into(),
        ));
    }
    if p.state.as_ref().is_some_and(|s| s.len() > 1024) {
        return Err(back(
            "invalid_request",
            "state: at most 1024 characters".into(),
        ));
    }
    let scopes = match scopes::parse_list(p.scope.as_deref().unwrap_or("read")) {
        Ok(s) if s.is_empty() => vec![Scope::Read],
        Ok(s) => s,
        Err(unknown) => {
            return Err(back(
                "invalid_scope",
                format!("unknown scope {unknown:?}: ask for read, write, upload or stats"),
            ));
        }
    };
    let challenge = match (
        p.code_challenge.as_deref(),
        p.code_challenge_method.as_deref(),
    ) {
        (None, _) if app.secret_hash.is_none() => {
            return Err(back(
                "invalid_request",
                "a public app must send a PKCE code_challenge (S256)".into(),
            ));
        }
        (None, _) => None,
        (Some(_), m) if m != Some("S256") => {
            return Err(back(
                "invalid_request",
                "code_challenge_method must be S256".into(),
            ));
        }
        (Some(c), _) if !pkce_text(c, 43) || c.len() != 43 => {
            return Err(back(
                "invalid_request",
                "code_challenge must be 43 base64url characters (the S256 of the verifier)".into(),
            ));
        }
        (Some(c), _) => Some(c.to_string()),
    };
    Ok(Checked {
        app,
        redirect_uri,
        scopes,
        state: p.state.clone(),
        challenge,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScopeWords {
    pub scope: &'static str,
    /// What it lets the app do, in plain words.
    pub words: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AppSummary {
    pub name: String,
    pub client_id: String,
    pub website: Option<String>,
    pub logo_url: Option<String>,
    /// The username of whoever registered it.
    pub developer: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Consent {
    pub app: AppSummary,
    pub scopes: Vec<ScopeWords>,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// The person granted this app these scopes already.
    pub granted_before: bool,
}

/// `GET /api/v1/oauth/authorization`: is this request sound, and what does
/// it ask of me?
#[utoipa::path(get, path = "/api/v1/oauth/authorization", tag = "apps",
    summary = "Check an app's authorization request, for the consent page",
    params(AuthorizeParams),
    responses(
        (status = 200, description = "What the app asks for, in plain words", body = Consent),
        (status = 400, description = "The request is faulty: `invalid_client` and `invalid_redirect_uri` are shown, never redirected; any other fault has a `Location` back to the app with `error` and `state`", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn consent(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
    ApiQuery(p): ApiQuery<AuthorizeParams>,
) -> Result<Json<Consent>, AppsError> {
    let c = check(&state, &p).await?;
    let developer: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
        .bind(c.app.owner_id)
        .fetch_one(&state.pool)
        .await?;
    let granted: Option<Vec<String>> =
        sqlx::query_scalar("SELECT scopes FROM oauth_grants WHERE user_id = $1 AND app_id = $2")
            .bind(user)
            .bind(c.app.id)
            .fetch_optional(&state.pool)
            .await?;
    let granted_before =
        granted.is_some_and(|g| c.scopes.iter().all(|s| g.iter().any(|x| x == s.as_str())));
    Ok(Json(Consent {
        app: AppSummary {
            logo_url: c.app.logo_url(),
            name: c.app.name,
            client_id: c.app.client_id,
            website: c.app.website,
            developer,
        },
        scopes: c
            .scopes
            .iter()
            .map(|s| ScopeWords {
                scope: s.as_str(),
                words: s.words(),
            })
            .collect(),
        redirect_uri: c.redirect_uri,
        granted_before,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Answer {
    #[serde(flatten)]
    pub request: AuthorizeParams,
    /// The person's answer: `true` allows, `false` refuses.
    pub approve: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Redirect {
    /// Where to send the person: the app's redirect URI with `code` (or
    /// `error=access_denied`), `state` and `iss`.
    pub redirect: String,
}

/// `POST /api/v1/oauth/authorization`: my answer to an app's request.
#[utoipa::path(post, path = "/api/v1/oauth/authorization", tag = "apps",
    summary = "Allow or refuse an app's authorization request (the consent page's form)",
    request_body = Answer,
    responses(
        (status = 200, description = "Where to send the person back", body = Redirect),
        (status = 400, description = "The request is faulty (as for GET)", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn answer(
    State(state): State<AppsState>,
    AuthUser(user): AuthUser,
    ApiJson(a): ApiJson<Answer>,
) -> Result<Json<Redirect>, AppsError> {
    let c = check(&state, &a.request).await?;
    let issuer = state.public_url.to_string();
    let mut params: Vec<(&str, &str)> = Vec::new();
    if !a.approve {
        params.push(("error", "access_denied"));
        params.push(("error_description", "the person refused"));
        if let Some(s) = c.state.as_deref() {
            params.push(("state", s));
        }
        params.push(("iss", &issuer));
        return Ok(Json(Redirect {
            redirect: with_query(&c.redirect_uri, &params),
        }));
    }
    let code = random_secret("");
    let wanted: Vec<&str> = c.scopes.iter().map(|s| s.as_str()).collect();
    let mut tx = state.pool.begin().await?;
    // Codes are kept a day past their minute (a reuse is still known),
    // then swept here: an index range, no job of its own.
    sqlx::query("DELETE FROM oauth_codes WHERE expires_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    // The grant holds every scope ever allowed; this code carries what
    // this request asked.
    let (grant, widened): (Uuid, bool) = sqlx::query_as(
        "WITH old AS (SELECT scopes FROM oauth_grants WHERE user_id = $2 AND app_id = $3)
         INSERT INTO oauth_grants (id, user_id, app_id, scopes) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, app_id) DO UPDATE
            SET scopes = ARRAY(SELECT DISTINCT unnest(oauth_grants.scopes || EXCLUDED.scopes) ORDER BY 1)
         RETURNING id, NOT COALESCE((SELECT $4 <@ scopes FROM old), false)",
    )
    .bind(Uuid::now_v7())
    .bind(user)
    .bind(c.app.id)
    .bind(&wanted)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, scopes, code_challenge, family, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + interval '{CODE_SECS} seconds')"
    ))
    .bind(hash_token(&code))
    .bind(grant)
    .bind(&c.redirect_uri)
    .bind(&wanted)
    .bind(&c.challenge)
    .bind(Uuid::now_v7())
    .execute(&mut *tx)
    .await?;
    if widened {
        let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
        let can: Vec<String> = c
            .scopes
            .iter()
            .map(|s| format!("- {}", s.words()))
            .collect();
        cloudcast_core::notify::security_event(
            &mut tx,
            user,
            &email,
            "app_connected",
            &format!("{} can now act for your Cloudcast account", c.app.name),
            &format!(
                "Hello,\n\nYou allowed the app \"{name}\" to act for your account. It may:\n{can}\n\n\
                 You can disconnect it at any time under Settings > Connected apps. If this was \
                 not you, disconnect it there and reset your password.\n",
                name = c.app.name,
                can = can.join("\n"),
            ),
            &format!("You connected the app “{}”", c.app.name),
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!(app_id = %c.app.id, user_id = %user, "authorization code issued");
    params.push(("code", &code));
    if let Some(s) = c.state.as_deref() {
        params.push(("state", s));
    }
    params.push(("iss", &issuer));
    Ok(Json(Redirect {
        redirect: with_query(&c.redirect_uri, &params),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_on_any_port_and_others_exactly() {
        let reg = vec![
            "http://127.0.0.1/callback".to_string(),
            "https://app.example/cb".to_string(),
        ];
        assert!(redirect_matches(&reg, "http://127.0.0.1:53124/callback"));
        assert!(redirect_matches(&reg, "http://127.0.0.1/callback"));
        assert!(redirect_matches(&reg, "https://app.example/cb"));
        assert!(!redirect_matches(&reg, "https://app.example/cb/"));
        assert!(!redirect_matches(&reg, "https://app.example:8443/cb"));
        assert!(!redirect_matches(&reg, "http://127.0.0.1:5000/other"));
        assert!(!redirect_matches(&reg, "http://localhost:5000/callback"));
    }

    #[test]
    fn the_s256_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn parameters_are_added_to_the_query() {
        assert_eq!(
            with_query(
                "https://a.example/cb?x=1",
                &[("code", "a b"), ("state", "s&t")]
            ),
            "https://a.example/cb?x=1&code=a+b&state=s%26t"
        );
    }
}
