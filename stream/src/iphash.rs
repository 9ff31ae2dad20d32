//! The IP address is never stored whole: heartbeats keep its /24 (IPv4) or
//! /48 (IPv6) and a keyed hash of the full address. The key changes every
//! UTC day and old keys are deleted (see `secrets::ip_hash_key`), so a hash
//! links one address's beats within a day and nothing beyond it.

use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use time::{Date, OffsetDateTime};

use cloudcast_core::netaddr::canonical;

use crate::StreamError;

/// The day a key belongs to, and the key.
type DayKey = (Date, Arc<[u8]>);

#[derive(Clone)]
pub struct IpHasher {
    pool: PgPool,
    today: Arc<RwLock<Option<DayKey>>>,
}

impl IpHasher {
    pub fn new(pool: PgPool) -> IpHasher {
        IpHasher {
            pool,
            today: Arc::new(RwLock::new(None)),
        }
    }

    async fn key(&self, day: Date) -> Result<Arc<[u8]>, StreamError> {
        if let Ok(guard) = self.today.read()
            && let Some((d, k)) = guard.as_ref()
            && *d == day
        {
            return Ok(k.clone());
        }
        let key: Arc<[u8]> = cloudcast_core::secrets::ip_hash_key(&self.pool, day)
            .await
            .map_err(|e| StreamError::DatabaseUnavailable(Arc::new(e)))?
            .into();
        if let Ok(mut guard) = self.today.write() {
            *guard = Some((day, key.clone()));
        }
        Ok(key)
    }

    /// 32 hex digits: HMAC-SHA256 of the address under today's key, truncated.
    pub async fn hash(&self, ip: IpAddr) -> Result<String, StreamError> {
        let key = self.key(OffsetDateTime::now_utc().date()).await?;
        Ok(keyed_hash(&key, canonical(ip)))
    }
}

/// IPv4-mapped IPv6 addresses hash as the IPv4 address they are.
fn keyed_hash(key: &[u8], ip: IpAddr) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(ip.to_string().as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn hashes_depend_on_key_and_whole_address() {
        let a = keyed_hash(b"day1", ip("203.0.113.77"));
        assert_eq!(a.len(), 32);
        assert_eq!(a, keyed_hash(b"day1", ip("203.0.113.77")));
        assert_eq!(a, keyed_hash(b"day1", canonical(ip("::ffff:203.0.113.77"))));
        assert_ne!(a, keyed_hash(b"day2", ip("203.0.113.77")));
        assert_ne!(a, keyed_hash(b"day1", ip("203.0.113.78")));
        assert!(!a.contains("203"));
    }
}
