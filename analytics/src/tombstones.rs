//! Erased accounts, as the heartbeat shipper sees them: beats of an erased
//! user still in a stream node's log (or sent with a session a node had
//! cached) are dropped before they reach ClickHouse, so an erasure stays done.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::rows::HeartbeatRow;

/// How long an erased account's id is kept to filter late beats; after
/// that nothing of the account remains (the log holds minutes of beats, or
/// hours in a long ClickHouse outage, never weeks).
pub const KEEP_DAYS: i32 = 30;

/// The user ids (as stored in `heartbeats.user_id`) of erased accounts, and
/// whether they have been read at least once (until then nothing ships: a
/// log replayed at start-up must not bring an erased user back).
#[derive(Clone, Default)]
pub struct Tombstones(Arc<RwLock<HashSet<String>>>, Arc<AtomicBool>);

impl Tombstones {
    /// True once the set was read from PostgreSQL.
    pub fn loaded(&self) -> bool {
        self.1.load(Ordering::Acquire)
    }

    /// Rows of erased users removed; returns how many were dropped.
    pub fn drop_erased(&self, rows: &mut Vec<HeartbeatRow>) -> usize {
        let set = match self.0.read() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if set.is_empty() {
            return 0;
        }
        let before = rows.len();
        rows.retain(|r| r.user_id.is_empty() || !set.contains(&r.user_id));
        before - rows.len()
    }

    fn replace(&self, ids: HashSet<String>) {
        match self.0.write() {
            Ok(mut s) => *s = ids,
            Err(poisoned) => *poisoned.into_inner() = ids,
        }
    }

    /// Reloads the set from PostgreSQL.
    pub async fn refresh(&self, pool: &sqlx::PgPool) -> Result<usize, sqlx::Error> {
        let ids: Vec<(uuid::Uuid,)> = sqlx::query_as(
            "SELECT user_id FROM erased_accounts
              WHERE erased_at > now() - make_interval(days => $1)",
        )
        .bind(KEEP_DAYS)
        .fetch_all(pool)
        .await?;
        let n = ids.len();
        self.replace(ids.into_iter().map(|(u,)| u.to_string()).collect());
        self.1.store(true, Ordering::Release);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(user: &str) -> HeartbeatRow {
        HeartbeatRow {
            ts: 1,
            cloudcast_id: "c".into(),
            tags: vec![],
            session_id: "s".into(),
            seq: 0,
            position_ms: 0,
            listener_id: if user.is_empty() {
                "a:x".into()
            } else {
                format!("u:{user}")
            },
            user_id: user.into(),
            rendition: String::new(),
            referrer_domain: String::new(),
            ip_prefix: String::new(),
            ip_hash: String::new(),
            browser: String::new(),
            browser_major: String::new(),
            os: String::new(),
            device: String::new(),
            is_bot: 0,
            ads_consent: 0,
            wal_segment: String::new(),
        }
    }

    #[test]
    fn beats_of_erased_users_are_dropped_and_others_kept() {
        let t = Tombstones::default();
        t.replace(["gone".to_string()].into_iter().collect());
        let mut rows = vec![beat("gone"), beat("kept"), beat(""), beat("gone")];
        assert_eq!(t.drop_erased(&mut rows), 2);
        let users: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
        assert_eq!(users, ["kept", ""]);
    }
}
