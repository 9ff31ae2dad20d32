//! Signed, expiring stream URLs: `?l=<listener tag>&exp=<unix secs>&sig=<hex
//! HMAC-SHA256>` over the cloudcast's stream path prefix, the listener tag
//! and the expiry. One signature covers every object of one cloudcast's
//! stream (master, media playlists, renditions), so playlists hand it on
//! unchanged. The tag is a keyed digest of the listener, so the URL names
//! its listener without revealing the cookie or user id behind it.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

use crate::config::Secret;
use crate::listener::Listener;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
    ttl_secs: i64,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("key", &"[redacted]")
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the stream URL has expired; ask the API for a new one")]
    Expired,
    #[error("the stream URL signature is invalid")]
    Invalid,
    #[error("this stream URL was issued to another listener; ask the API for your own")]
    OtherListener,
}

/// The query parameters of a signed stream URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub tag: String,
    pub exp: i64,
    pub sig: String,
}

impl Signed {
    pub fn query(&self) -> String {
        format!("l={}&exp={}&sig={}", self.tag, self.exp, self.sig)
    }
}

/// Name of the generated key in `server_secrets` when none is configured.
const SECRET_NAME: &str = "stream_url_key";

impl UrlSigner {
    pub fn new(key: Vec<u8>, ttl_secs: i64) -> UrlSigner {
        UrlSigner { key, ttl_secs }
    }

    /// The configured key (`stream.signing_key`), else the installation's
    /// generated one; URLs live `ttl`.
    pub async fn from_config(
        signing_key: &Secret,
        ttl: std::time::Duration,
        pool: &PgPool,
    ) -> Result<UrlSigner, sqlx::Error> {
        let key = if signing_key.is_empty() {
            crate::secrets::shared_secret(pool, SECRET_NAME).await?
        } else {
            signing_key.expose().as_bytes().to_vec()
        };
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Ok(UrlSigner::new(key, ttl))
    }

    fn hmac(&self, parts: &[&[u8]]) -> HmacSha256 {
        // new_from_slice accepts keys of any length for HMAC.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        for p in parts {
            mac.update(p);
            mac.update(b"\n");
        }
        mac
    }

    /// 16 hex digits naming `listener` in URLs.
    pub fn listener_tag(&self, listener: &Listener) -> String {
        let digest = self
            .hmac(&[b"listener", listener.as_str().as_bytes()])
            .finalize()
            .into_bytes();
        hex::encode(&digest[..8])
    }

    fn url_mac(&self, cloudcast: Uuid, tag: &str, exp: i64) -> HmacSha256 {
        self.hmac(&[
            format!("/stream/{cloudcast}/").as_bytes(),
            tag.as_bytes(),
            exp.to_string().as_bytes(),
        ])
    }

    /// Signs `cloudcast`'s stream for `listener`, valid for the TTL from `now`.
    pub fn sign(&self, cloudcast: Uuid, listener: &Listener, now: i64) -> Signed {
        let tag = self.listener_tag(listener);
        let exp = now + self.ttl_secs;
        let sig = hex::encode(self.url_mac(cloudcast, &tag, exp).finalize().into_bytes());
        Signed { tag, exp, sig }
    }

    /// Checks signature and expiry (not who is asking: see `listener_tag`).
    pub fn verify(&self, cloudcast: Uuid, s: &Signed, now: i64) -> Result<(), SignatureError> {
        let sig = hex::decode(&s.sig).map_err(|_| SignatureError::Invalid)?;
        self.url_mac(cloudcast, &s.tag, s.exp)
            .verify_slice(&sig)
            .map_err(|_| SignatureError::Invalid)?;
        if s.exp < now {
            return Err(SignatureError::Expired);
        }
        Ok(())
    }
}

pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_url_verifies_and_tampering_fails() {
        let s = UrlSigner::new(b"k".to_vec(), 60);
        let id = Uuid::new_v4();
        let me = Listener::anonymous("0123456789abcdef0123456789abcdef");
        let you = Listener::user(Uuid::nil());
        let signed = s.sign(id, &me, 1000);
        assert_eq!(signed.exp, 1060);
        assert_eq!(signed.tag, s.listener_tag(&me));
        assert_ne!(signed.tag, s.listener_tag(&you));
        assert_eq!(signed.tag.len(), 16);
        assert_eq!(s.verify(id, &signed, 1001), Ok(()));
        let with = |f: &dyn Fn(&mut Signed)| {
            let mut t = signed.clone();
            f(&mut t);
            s.verify(id, &t, 1001)
        };
        assert_eq!(with(&|t| t.exp += 1), Err(SignatureError::Invalid));
        assert_eq!(
            with(&|t| t.tag = s.listener_tag(&you)),
            Err(SignatureError::Invalid)
        );
        assert_eq!(with(&|t| t.sig = "zz".into()), Err(SignatureError::Invalid));
        assert_eq!(
            s.verify(Uuid::new_v4(), &signed, 1001),
            Err(SignatureError::Invalid)
        );
        assert_eq!(s.verify(id, &signed, 2000), Err(SignatureError::Expired));
        // Another key never verifies.
        let other = UrlSigner::new(b"k2".to_vec(), 60);
        assert_eq!(
            other.verify(id, &signed, 1001),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            signed.query(),
            format!("l={}&exp=1060&sig={}", signed.tag, signed.sig)
        );
    }
}
