//! Erased accounts, as the heartbeat shipper sees them: beats of an erased
//! user still in a stream node's log (or sent with a session a node had
//! cached) are dropped before they reach ClickHouse, so an erasure stays done.

use std::collections::HashSet;

use cloudcast_beats::HeartbeatRow;

/// How long an erased account's id is kept to filter late beats; after
/// that nothing of the account remains (the log holds minutes of beats, or
/// hours in a long ClickHouse outage, never weeks).
pub const KEEP_DAYS: i32 = 30;

/// The user ids (as stored in `heartbeats.user_id`) of erased accounts;
/// `None` until read once (until then nothing ships: a log replayed at
/// start-up must not bring an erased user back). The shipper owns it.
#[derive(Default)]
pub struct Tombstones(Option<HashSet<String>>);

impl Tombstones {
    /// True once the set was read from PostgreSQL.
    pub fn loaded(&self) -> bool {
        self.0.is_some()
    }

    /// Rows of erased users removed; returns how many were dropped.
    pub fn drop_erased(&self, rows: &mut Vec<HeartbeatRow>) -> usize {
        let Some(set) = self.0.as_ref().filter(|s| !s.is_empty()) else {
            return 0;
        };
        let before = rows.len();
        rows.retain(|r| r.user_id.is_empty() || !set.contains(&r.user_id));
        before - rows.len()
    }

    /// Reloads the set from PostgreSQL.
    pub async fn refresh(&mut self, pool: &sqlx::PgPool) -> Result<usize, sqlx::Error> {
        let ids: Vec<(uuid::Uuid,)> = sqlx::query_as(
            "SELECT user_id FROM erased_accounts
              WHERE erased_at > now() - make_interval(days => $1)",
        )
        .bind(KEEP_DAYS)
        .fetch_all(pool)
        .await?;
        let n = ids.len();
        self.0 = Some(ids.into_iter().map(|(u,)| u.to_string()).collect());
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn beat(user: &str) -> HeartbeatRow {
        HeartbeatRow {
            listener_id: if user.is_empty() {
                "a:x".into()
            } else {
                format!("u:{user}")
            },
            user_id: user.into(),
            ..HeartbeatRow::default()
        }
    }

    #[test]
    fn beats_of_erased_users_are_dropped_and_others_kept() {
        let t = Tombstones(Some(["gone".to_string()].into_iter().collect()));
        let mut rows = vec![beat("gone"), beat("kept"), beat(""), beat("gone")];
        assert_eq!(t.drop_erased(&mut rows), 2);
        let users: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
        assert_eq!(users, ["kept", ""]);
    }
}
