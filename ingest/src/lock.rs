//! One writer per upload, across every ingest node: a session-level
//! PostgreSQL advisory lock held for the length of a PATCH (or a
//! termination, or an expiry).

use sqlx::PgPool;
use sqlx::pool::PoolConnection;
use sqlx::postgres::Postgres;
use uuid::Uuid;

use crate::IngestError;

/// Holds a session-level advisory lock on one upload for the length of a PATCH.
/// If the request is dropped mid-way, the connection is closed instead of being
/// returned to the pool, which releases the lock on the server.
pub struct UploadLock {
    conn: Option<PoolConnection<Postgres>>,
    key: i64,
}

impl UploadLock {
    pub async fn try_acquire(pool: &PgPool, id: Uuid) -> Result<Option<UploadLock>, IngestError> {
        let mut conn = pool.acquire().await?;
        // The lower 64 bits of a v7 UUID are random: a fine advisory-lock key.
        let key = id.as_u64_pair().1 as i64;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then_some(UploadLock {
            conn: Some(conn),
            key,
        }))
    }

    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut *conn)
                .await;
            if unlocked.is_err() {
                drop(conn.detach());
            }
        }
    }
}

impl Drop for UploadLock {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}
