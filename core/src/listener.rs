//! Who is listening, the one home of it: a signed-in user; else a browser
//! known by the `cc_listener` cookie, which the server signs when it issues
//! it (an unsigned or forged one counts as no cookie, so a client cannot
//! make up listeners); else the client itself, known by the daily keyed
//! hash of its address and user agent (players without cookies: ffmpeg,
//! apps), so a new session id or a new random cookie is not a new listener.
//! Stream URLs are signed for one listener and honoured only for it, and
//! heartbeats are attributed to one.
//!
//! Addresses are never stored whole: heartbeats keep the /24 or /48 and a
//! keyed hash of the full address. The hash key changes every UTC day and
//! old keys are deleted (`secrets::ip_hash_key`), so a hash links one
//! address's requests within a day and nothing beyond it.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use axum::http::{HeaderMap, HeaderValue, header};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::netaddr::canonical;

/// HttpOnly cookie holding an anonymous listener's id and its signature:
/// `<32 hex digits>.<16 hex digits>`.
pub const LISTENER_COOKIE: &str = "cc_listener";

/// Name of the cookie-signing key in `server_secrets`.
const COOKIE_KEY_NAME: &str = "listener_cookie_key";

/// A listener's stable key: `u:<user id>`, `a:<cookie id>` or
/// `h:<daily hash of address and user agent>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Listener(String);

impl Listener {
    pub fn user(id: Uuid) -> Listener {
        Listener(format!("u:{id}"))
    }
    pub fn anonymous(id: &str) -> Listener {
        Listener(format!("a:{id}"))
    }
    fn client(hash: &str) -> Listener {
        Listener(format!("h:{hash}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    for p in parts {
        m.update(p);
        m.update(b"\n");
    }
    m
}

/// The day a key belongs to, and the key.
type DayKey = (Date, Arc<[u8]>);
/// Yesterday's key as last read: the day, and the key if it was kept.
type KeptKey = (Date, Option<Arc<[u8]>>);

/// Identifies listeners: signs and checks listener cookies, and hashes
/// addresses (and address with user agent) under the day's key. Cheap to
/// clone; the day's key is read from PostgreSQL once a day per process.
#[derive(Clone)]
pub struct Listeners {
    cookie_key: Arc<[u8]>,
    pool: PgPool,
    today: Arc<RwLock<Option<DayKey>>>,
    yesterday: Arc<RwLock<Option<KeptKey>>>,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners").finish_non_exhaustive()
    }
}

impl Listeners {
    /// The installation's cookie key (made by the first node that asks).
    pub async fn load(pool: &PgPool) -> Result<Listeners, sqlx::Error> {
        let key = crate::secrets::shared_secret(pool, COOKIE_KEY_NAME).await?;
        Ok(Listeners::new(key, pool.clone()))
    }

    pub fn new(cookie_key: Vec<u8>, pool: PgPool) -> Listeners {
        Listeners {
            cookie_key: cookie_key.into(),
            pool,
            today: Arc::new(RwLock::new(None)),
            yesterday: Arc::new(RwLock::new(None)),
        }
    }

    fn cookie_mac(&self, id: &str) -> String {
        let digest = mac(&self.cookie_key, &[b"listener cookie", id.as_bytes()])
            .finalize()
            .into_bytes();
        hex::encode(&digest[..8])
    }

    /// The anonymous listener of the request's cookie, when the server
    /// signed it.
    pub fn from_cookie(&self, headers: &HeaderMap) -> Option<Listener> {
        let value = crate::auth::cookie(headers, LISTENER_COOKIE)?;
        let (id, sig) = value.split_once('.')?;
        let well_formed =
            id.len() == 32 && id.bytes().all(|c| c.is_ascii_hexdigit()) && sig.len() == 16;
        let raw = hex::decode(sig).ok()?;
        let ok = well_formed
            && mac(&self.cookie_key, &[b"listener cookie", id.as_bytes()])
                .verify_truncated_left(&raw)
                .is_ok();
        ok.then(|| Listener::anonymous(id))
    }

    /// A new anonymous listener and its signed cookie, kept for a year.
    pub fn issue(&self) -> (Listener, Option<HeaderValue>) {
        let mut raw = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        let id = hex::encode(raw);
        let cookie = HeaderValue::from_str(&format!(
            "{LISTENER_COOKIE}={id}.{}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax",
            self.cookie_mac(&id)
        ))
        .ok();
        (Listener::anonymous(&id), cookie)
    }

    /// Today's key (UTC), created on first use.
    async fn key_today(&self) -> Result<(Date, Arc<[u8]>), sqlx::Error> {
        let day = OffsetDateTime::now_utc().date();
        if let Ok(guard) = self.today.read()
            && let Some((d, k)) = guard.as_ref()
            && *d == day
        {
            return Ok((day, k.clone()));
        }
        let key: Arc<[u8]> = crate::secrets::ip_hash_key(&self.pool, day).await?.into();
        if let Ok(mut guard) = self.today.write() {
            *guard = Some((day, key.clone()));
        }
        Ok((day, key))
    }

    /// Yesterday's key, while it is kept (a URL signed before midnight is
    /// still honoured after it).
    async fn key_yesterday(&self, today: Date) -> Result<Option<Arc<[u8]>>, sqlx::Error> {
        let Some(day) = today.previous_day() else {
            return Ok(None);
        };
        if let Ok(guard) = self.yesterday.read()
            && let Some((d, k)) = guard.as_ref()
            && *d == day
        {
            return Ok(k.clone());
        }
        let key: Option<Arc<[u8]>> = crate::secrets::existing_ip_hash_key(&self.pool, day)
            .await?
            .map(Into::into);
        if let Ok(mut guard) = self.yesterday.write() {
            *guard = Some((day, key.clone()));
        }
        Ok(key)
    }

    /// 32 hex digits: the address under today's key, as heartbeats keep it.
    pub async fn hash_ip(&self, ip: IpAddr) -> Result<String, sqlx::Error> {
        let (_, key) = self.key_today().await?;
        Ok(ip_hash(&key, ip))
    }

    /// 32 hex digits naming a podcast client for download counting (IAB
    /// v2.1): its address (IPv6 cut to its /64, which one household or
    /// phone keeps while its interface id rotates) and user agent, under
    /// today's key, so one hash is one client for one UTC day.
    pub async fn download_hash(
        &self,
        ip: IpAddr,
        headers: &HeaderMap,
    ) -> Result<String, sqlx::Error> {
        let (_, key) = self.key_today().await?;
        Ok(download_hash(&key, ip, user_agent(headers)))
    }

    /// The listener a request without an account or a signed cookie is:
    /// its address and user agent under today's key.
    pub async fn client(&self, ip: IpAddr, headers: &HeaderMap) -> Result<Listener, sqlx::Error> {
        let (_, key) = self.key_today().await?;
        Ok(Listener::client(&client_hash(
            &key,
            ip,
            user_agent(headers),
        )))
    }

    /// Who a request listens as: the user, else the signed cookie, else
    /// the client itself.
    pub async fn identify(
        &self,
        user: Option<Uuid>,
        ip: IpAddr,
        headers: &HeaderMap,
    ) -> Result<Listener, sqlx::Error> {
        if let Some(u) = user {
            return Ok(Listener::user(u));
        }
        if let Some(l) = self.from_cookie(headers) {
            return Ok(l);
        }
        self.client(ip, headers).await
    }

    /// Does the request speak for `wanted` (a stream URL's listener, as
    /// `matches` compares them)? As its user, its signed cookie, or as the
    /// client itself under today's or yesterday's key; the hashes are made
    /// only when neither the user nor the cookie matched.
    pub async fn speaks_for(
        &self,
        user: Option<Uuid>,
        ip: IpAddr,
        headers: &HeaderMap,
        matches: impl Fn(&Listener) -> bool,
    ) -> Result<bool, sqlx::Error> {
        if user.is_some_and(|u| matches(&Listener::user(u))) {
            return Ok(true);
        }
        if self.from_cookie(headers).is_some_and(|l| matches(&l)) {
            return Ok(true);
        }
        let ua = user_agent(headers);
        let (today, key) = self.key_today().await?;
        if matches(&Listener::client(&client_hash(&key, ip, ua))) {
            return Ok(true);
        }
        Ok(self
            .key_yesterday(today)
            .await?
            .is_some_and(|k| matches(&Listener::client(&client_hash(&k, ip, ua)))))
    }
}

fn user_agent(headers: &HeaderMap) -> &str {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// IPv4-mapped IPv6 addresses hash as the IPv4 address they are.
fn ip_hash(key: &[u8], ip: IpAddr) -> String {
    let mut m = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    m.update(canonical(ip).to_string().as_bytes());
    hex::encode(&m.finalize().into_bytes()[..16])
}

/// The address and user agent under a day's key (kept apart from
/// [`ip_hash`] by a label, so one cannot be read as the other).
fn client_hash(key: &[u8], ip: IpAddr, user_agent: &str) -> String {
    let digest = mac(
        key,
        &[
            b"client",
            canonical(ip).to_string().as_bytes(),
            user_agent.as_bytes(),
        ],
    )
    .finalize()
    .into_bytes();
    hex::encode(&digest[..16])
}

/// See [`Listeners::download_hash`]; labelled apart from the other hashes.
fn download_hash(key: &[u8], ip: IpAddr, user_agent: &str) -> String {
    let address = match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        v4 => v4.to_string(),
    };
    let digest = mac(
        key,
        &[b"download", address.as_bytes(), user_agent.as_bytes()],
    )
    .finalize()
    .into_bytes();
    hex::encode(&digest[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    fn listeners() -> Listeners {
        // A pool that never connects: these tests touch no database.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap_or_else(|_| unreachable!("a lazy pool parses its URL only"));
        Listeners::new(b"cookie key".to_vec(), pool)
    }

    fn with_cookie(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&format!("a=b; {LISTENER_COOKIE}={value}")) {
            h.insert(header::COOKIE, v);
        }
        h
    }

    #[tokio::test]
    async fn only_cookies_the_server_signed_name_a_listener() {
        let l = listeners();
        let (me, cookie) = l.issue();
        let cookie = cookie.map(|c| c.to_str().unwrap_or_default().to_owned());
        let value = cookie
            .as_deref()
            .and_then(|c| c.split(';').next())
            .and_then(|kv| kv.split_once('='))
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default();
        assert_eq!(l.from_cookie(&with_cookie(&value)), Some(me.clone()));
        // Unsigned (the old form), forged, or signed under another key.
        let id = &value[..32];
        assert_eq!(l.from_cookie(&with_cookie(id)), None);
        assert_eq!(
            l.from_cookie(&with_cookie(&format!("{id}.0000000000000000"))),
            None
        );
        let other = Listeners::new(b"another key".to_vec(), l.pool.clone());
        assert_eq!(other.from_cookie(&with_cookie(&value)), None);
        assert_eq!(l.from_cookie(&with_cookie("../../etc.x")), None);
        assert_eq!(me.as_str(), format!("a:{id}"));
    }

    #[test]
    fn hashes_depend_on_key_address_and_agent() {
        let a = ip_hash(b"day1", ip("203.0.113.77"));
        assert_eq!(a.len(), 32);
        assert_eq!(a, ip_hash(b"day1", ip("::ffff:203.0.113.77")));
        assert_ne!(a, ip_hash(b"day2", ip("203.0.113.77")));
        assert_ne!(a, ip_hash(b"day1", ip("203.0.113.78")));
        assert!(!a.contains("203"));
        let c = client_hash(b"day1", ip("203.0.113.77"), "ffmpeg");
        assert_eq!(c.len(), 32);
        assert_ne!(c, a);
        assert_ne!(c, client_hash(b"day1", ip("203.0.113.77"), "curl"));
        assert_ne!(c, client_hash(b"day2", ip("203.0.113.77"), "ffmpeg"));
        assert_eq!(c, client_hash(b"day1", ip("::ffff:203.0.113.77"), "ffmpeg"));
        // Downloads: one IPv6 /64 is one client; another /64 or agent is not.
        let d = download_hash(b"day1", ip("2001:db8:1:2:aaaa::1"), "AntennaPod/3");
        assert_eq!(
            d,
            download_hash(b"day1", ip("2001:db8:1:2:bbbb::9"), "AntennaPod/3")
        );
        assert_ne!(
            d,
            download_hash(b"day1", ip("2001:db8:1:3::1"), "AntennaPod/3")
        );
        assert_ne!(
            d,
            download_hash(b"day1", ip("2001:db8:1:2::1"), "Overcast/3")
        );
        assert_ne!(
            d,
            download_hash(b"day2", ip("2001:db8:1:2::1"), "AntennaPod/3")
        );
        assert_ne!(
            download_hash(b"day1", ip("203.0.113.77"), "x"),
            download_hash(b"day1", ip("203.0.113.78"), "x")
        );
    }
}
