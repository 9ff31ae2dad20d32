//! How I hear of each kind (`GET`/`PUT /api/v1/me/notification-settings`),
//! and leaving a mail with one click (`POST /api/v1/unsubscribe/{token}`,
//! RFC 8058), which needs no session: the token in the mail's
//! `List-Unsubscribe` names the person and what they leave, signed with a
//! key the nodes share.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgConnection;
use uuid::Uuid;

use cloudcast_core::auth::AuthUser;
use cloudcast_core::extract::{ApiJson, ApiPath};
use cloudcast_core::states::{Delivery, NotificationKind};

use crate::kinds;
use crate::{NotificationsError, NotificationsState};

/// One kind, and how I hear of it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KindSetting {
    pub kind: NotificationKind,
    /// What the settings page calls it.
    pub label: String,
    pub delivery: Delivery,
    /// What it is unless I choose.
    pub default: Delivery,
    /// What I may choose (moderation decisions are always mailed).
    pub choices: Vec<Delivery>,
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NotificationSettings {
    pub kinds: Vec<KindSetting>,
}

/// `{"kind": "delivery", ...}`: the kinds to change; the rest stay.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"favourite": "daily", "new_mix": "mail"}))]
pub struct SettingsChange(pub BTreeMap<String, String>);

/// Every kind with `user`'s delivery for it.
pub async fn of(
    conn: &mut PgConnection,
    user: Uuid,
) -> Result<Vec<(NotificationKind, Delivery)>, sqlx::Error> {
    let chosen: Vec<(String, Delivery)> =
        sqlx::query_as("SELECT kind, delivery FROM notification_settings WHERE user_id = $1")
            .bind(user)
            .fetch_all(conn)
            .await?;
    Ok(NotificationKind::ALL
        .iter()
        .map(|&k| {
            let d = chosen
                .iter()
                .find(|(c, _)| c == k.as_str())
                .map(|(_, d)| *d)
                .filter(|d| kinds::choices(k).contains(d))
                .unwrap_or_else(|| kinds::default_delivery(k));
            (k, d)
        })
        .collect())
}

fn view(all: Vec<(NotificationKind, Delivery)>) -> NotificationSettings {
    NotificationSettings {
        kinds: all
            .into_iter()
            .map(|(kind, delivery)| KindSetting {
                kind,
                label: kinds::label(kind).into(),
                delivery,
                default: kinds::default_delivery(kind),
                choices: kinds::choices(kind).to_vec(),
            })
            .collect(),
    }
}

/// `GET /api/v1/me/notification-settings`
#[utoipa::path(get, path = "/api/v1/me/notification-settings", tag = "notifications", operation_id = "notification_settings",
    summary = "How I hear of each kind of notification",
    responses(
        (status = 200, description = "Every kind, with its delivery, default and choices", body = NotificationSettings),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn get(
    State(state): State<NotificationsState>,
    AuthUser(me): AuthUser,
) -> Result<Json<NotificationSettings>, NotificationsError> {
    let mut conn = state.pool.acquire().await?;
    Ok(Json(view(of(&mut conn, me).await?)))
}

/// The change as kinds and deliveries, or what is wrong with it.
fn parse(change: &SettingsChange) -> Result<Vec<(NotificationKind, Delivery)>, NotificationsError> {
    change
        .0
        .iter()
        .map(|(k, d)| {
            let kind = NotificationKind::parse(k).ok_or_else(|| {
                NotificationsError::InvalidField(format!("{k}: not a kind of notification"))
            })?;
            let delivery = Delivery::parse(d).ok_or_else(|| {
                NotificationsError::InvalidField(format!(
                    "{k}: {d:?} is not one of in_app, mail, daily, weekly, off"
                ))
            })?;
            if !kinds::choices(kind).contains(&delivery) {
                return Err(NotificationsError::InvalidField(format!(
                    "{k}: moderation decisions are always mailed"
                )));
            }
            Ok((kind, delivery))
        })
        .collect()
}

async fn set(
    conn: &mut PgConnection,
    user: Uuid,
    changes: &[(NotificationKind, Delivery)],
) -> Result<(), sqlx::Error> {
    for (kind, delivery) in changes {
        sqlx::query(
            "INSERT INTO notification_settings (user_id, kind, delivery) VALUES ($1, $2, $3)
             ON CONFLICT (user_id, kind) DO UPDATE SET delivery = EXCLUDED.delivery, updated_at = now()",
        )
        .bind(user)
        .bind(kind.as_str())
        .bind(delivery)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// `PUT /api/v1/me/notification-settings`
#[utoipa::path(put, path = "/api/v1/me/notification-settings", tag = "notifications", operation_id = "set_notification_settings",
    summary = "Choose how I hear of some kinds of notification",
    request_body = SettingsChange,
    responses(
        (status = 200, description = "Changed; every kind as it is now", body = NotificationSettings),
        (status = 400, description = "Not a JSON object", body = cloudcast_core::apidoc::ErrorBody),
        (status = 401, description = "Not signed in", body = cloudcast_core::apidoc::ErrorBody),
        (status = 422, description = "An unknown kind or delivery, or moderation not mailed", body = cloudcast_core::apidoc::ErrorBody)),
    security(("session" = [])))]
pub async fn put(
    State(state): State<NotificationsState>,
    AuthUser(me): AuthUser,
    ApiJson(change): ApiJson<SettingsChange>,
) -> Result<Json<NotificationSettings>, NotificationsError> {
    let changes = parse(&change)?;
    let mut tx = state.pool.begin().await?;
    set(&mut tx, me, &changes).await?;
    let now = of(&mut tx, me).await?;
    tx.commit().await?;
    Ok(Json(view(now)))
}

type HmacSha256 = Hmac<Sha256>;

/// What one click leaves: the mail of one kind, or a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leave {
    Kind(NotificationKind),
    Digest(Delivery),
}

impl Leave {
    fn byte(self) -> u8 {
        match self {
            Leave::Kind(k) => NotificationKind::ALL
                .iter()
                .position(|x| *x == k)
                .unwrap_or(0) as u8,
            Leave::Digest(Delivery::Weekly) => 201,
            Leave::Digest(_) => 200,
        }
    }

    fn of_byte(b: u8) -> Option<Leave> {
        match b {
            200 => Some(Leave::Digest(Delivery::Daily)),
            201 => Some(Leave::Digest(Delivery::Weekly)),
            n => NotificationKind::ALL
                .get(n as usize)
                .map(|k| Leave::Kind(*k)),
        }
    }
}

/// Signed bytes kept of the MAC: 128 bits cannot be guessed.
const MAC_BYTES: usize = 16;

/// The token for `user` leaving `what`.
pub fn token(key: &[u8], user: Uuid, what: Leave) -> String {
    let mut body = user.as_bytes().to_vec();
    body.push(what.byte());
    let mac = mac(key, &body);
    body.extend(mac.into_iter().take(MAC_BYTES));
    URL_SAFE_NO_PAD.encode(body)
}

fn mac(key: &[u8], body: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so this never fails.
    <HmacSha256 as Mac>::new_from_slice(key)
        .map(|mut m| {
            m.update(body);
            m.finalize().into_bytes().to_vec()
        })
        .unwrap_or_default()
}

/// Whom a token names and what they leave, if this site signed it.
pub fn verify(key: &[u8], token: &str) -> Option<(Uuid, Leave)> {
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    if raw.len() != 17 + MAC_BYTES {
        return None;
    }
    let (body, sig) = raw.split_at(17);
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).ok()?;
    m.update(body);
    m.verify_truncated_left(sig).ok()?;
    let user = Uuid::from_slice(&body[..16]).ok()?;
    Some((user, Leave::of_byte(body[16])?))
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Unsubscribed {
    /// What no longer comes by mail (it still shows on the site).
    pub stopped: String,
}

/// `POST /api/v1/unsubscribe/{token}`
#[utoipa::path(post, path = "/api/v1/unsubscribe/{token}", tag = "notifications", operation_id = "unsubscribe",
    summary = "Stop a kind of notification mail, or a digest, with one click (RFC 8058; no session needed)",
    params(("token" = String, Path, description = "From the mail's List-Unsubscribe")),
    responses(
        (status = 200, description = "Stopped: it shows on the site only", body = Unsubscribed),
        (status = 404, description = "Not a token this site made (`bad_token`), or its account is gone", body = cloudcast_core::apidoc::ErrorBody)),
    security(()))]
pub async fn unsubscribe(
    State(state): State<NotificationsState>,
    ApiPath(token): ApiPath<String>,
) -> Result<Json<Unsubscribed>, NotificationsError> {
    let (user, what) =
        verify(&state.unsubscribe_key, &token).ok_or(NotificationsError::BadToken)?;
    let mut tx = state.pool.begin().await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    if !exists {
        return Err(NotificationsError::BadToken);
    }
    let (changes, stopped): (Vec<(NotificationKind, Delivery)>, String) = match what {
        // Moderation mail is not left: the policy promises it.
        Leave::Kind(k) if kinds::choices(k).contains(&Delivery::InApp) => (
            vec![(k, Delivery::InApp)],
            format!("mail for “{}”", kinds::label(k)),
        ),
        Leave::Kind(k) => (
            Vec::new(),
            format!("nothing: “{}” is always mailed", kinds::label(k)),
        ),
        Leave::Digest(cadence) => {
            let now = of(&mut tx, user).await?;
            (
                now.into_iter()
                    .filter(|(_, d)| *d == cadence)
                    .map(|(k, _)| (k, Delivery::InApp))
                    .collect(),
                format!(
                    "the {} digest",
                    if cadence == Delivery::Weekly {
                        "weekly"
                    } else {
                        "daily"
                    }
                ),
            )
        }
    };
    set(&mut tx, user, &changes).await?;
    tx.commit().await?;
    tracing::info!(user_id = %user, ?what, "mail left with one click");
    Ok(Json(Unsubscribed { stopped }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_person_and_is_refused_when_changed() {
        let key = b"k3y";
        let u = Uuid::from_u128(42);
        for what in [
            Leave::Kind(NotificationKind::Favourite),
            Leave::Kind(NotificationKind::Follower),
            Leave::Digest(Delivery::Daily),
            Leave::Digest(Delivery::Weekly),
        ] {
            let t = token(key, u, what);
            assert_eq!(verify(key, &t), Some((u, what)));
            assert_eq!(verify(b"other", &t), None);
        }
        let t = token(key, u, Leave::Digest(Delivery::Daily));
        let mut raw = URL_SAFE_NO_PAD.decode(&t).unwrap_or_default();
        raw[16] = 201; // daily made weekly
        assert_eq!(verify(key, &URL_SAFE_NO_PAD.encode(raw)), None);
        assert_eq!(verify(key, "short"), None);
    }

    #[test]
    fn a_change_names_what_is_wrong() {
        let change = |k: &str, d: &str| SettingsChange(BTreeMap::from([(k.into(), d.into())]));
        assert!(parse(&change("favourite", "daily")).is_ok());
        let bad = |c| parse(&c).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(bad(change("likes", "daily")).contains("likes: not a kind"));
        assert!(bad(change("favourite", "hourly")).contains("\"hourly\""));
        assert!(bad(change("moderation", "off")).contains("always mailed"));
    }
}
