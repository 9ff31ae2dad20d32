//! PostgreSQL: the catalogue, accounts, uploads and the job queue.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::config::PostgresConfig;
use crate::error::CoreError;

/// Longest a request waits for a pooled connection before it fails with 503
/// rather than hanging while the database is away.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Migrations live in `core/migrations/` and are compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn connect(cfg: &PostgresConfig) -> Result<PgPool, CoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(cfg.max_connections)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect(&cfg.url)
        .await?;
    Ok(pool)
}

pub async fn migrate(pool: &PgPool) -> Result<(), CoreError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Lock id (arbitrary, fixed): nodes starting together run the start-up
/// repairs (slug backfill, reserved-name renames) in turn.
const STARTUP_LOCK: i64 = 0x5105_7a27;

/// Begins a transaction holding the start-up lock until it ends.
pub async fn begin_startup_repair(
    pool: &PgPool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(STARTUP_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
