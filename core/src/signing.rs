//! Signed, expiring stream URLs: `?exp=<unix secs>&sig=<hex HMAC-SHA256>`
//! over the cloudcast's stream path prefix, the expiry and the listener.
//! One signature covers every object of one cloudcast's stream (master,
//! media playlists, renditions), so playlists can hand it on unchanged.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct UrlSigner {
    key: Vec<u8>,
    ttl_secs: i64,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the stream URL has expired; ask the API for a new one")]
    Expired,
    #[error("the stream URL signature is invalid")]
    Invalid,
}

impl UrlSigner {
    /// An empty key picks a random one (valid for this process only).
    pub fn new(key: &str, ttl_secs: i64) -> UrlSigner {
        let key = if key.is_empty() {
            let mut k = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut k);
            k
        } else {
            key.as_bytes().to_vec()
        };
        UrlSigner { key, ttl_secs }
    }

    fn mac(&self, cloudcast: Uuid, exp: i64, listener: &str) -> HmacSha256 {
        // new_from_slice accepts keys of any length for HMAC.
        let mut mac = match HmacSha256::new_from_slice(&self.key) {
            Ok(m) => m,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        };
        mac.update(format!("/stream/{cloudcast}/\n{exp}\n{listener}").as_bytes());
        mac
    }

    /// Query string (`exp=..&sig=..`) valid for `ttl` from `now`.
    pub fn sign(&self, cloudcast: Uuid, listener: &str, now: i64) -> String {
        let exp = now + self.ttl_secs;
        let sig = hex::encode(self.mac(cloudcast, exp, listener).finalize().into_bytes());
        format!("exp={exp}&sig={sig}")
    }

    pub fn verify(
        &self,
        cloudcast: Uuid,
        listener: &str,
        exp: i64,
        sig_hex: &str,
        now: i64,
    ) -> Result<(), SignatureError> {
        let sig = hex::decode(sig_hex).map_err(|_| SignatureError::Invalid)?;
        self.mac(cloudcast, exp, listener)
            .verify_slice(&sig)
            .map_err(|_| SignatureError::Invalid)?;
        if exp < now {
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

    fn parts(q: &str) -> (i64, String) {
        let mut exp = 0;
        let mut sig = String::new();
        for kv in q.split('&') {
            if let Some(v) = kv.strip_prefix("exp=") {
                exp = v.parse().unwrap_or(0);
            }
            if let Some(v) = kv.strip_prefix("sig=") {
                sig = v.to_string();
            }
        }
        (exp, sig)
    }

    #[test]
    fn signed_url_verifies_and_tampering_fails() {
        let s = UrlSigner::new("k", 60);
        let id = Uuid::new_v4();
        let (exp, sig) = parts(&s.sign(id, "", 1000));
        assert_eq!(exp, 1060);
        assert_eq!(s.verify(id, "", exp, &sig, 1001), Ok(()));
        assert_eq!(
            s.verify(id, "", exp + 1, &sig, 1001),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            s.verify(Uuid::new_v4(), "", exp, &sig, 1001),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            s.verify(id, "other", exp, &sig, 1001),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            s.verify(id, "", exp, "zz", 1001),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            s.verify(id, "", exp, &sig, 2000),
            Err(SignatureError::Expired)
        );
    }
}
