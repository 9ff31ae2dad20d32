//! PostgreSQL: the catalogue, accounts, uploads and the job queue.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::config::PostgresConfig;
use crate::error::CoreError;

/// Migrations live in `core/migrations/` and are compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn connect(cfg: &PostgresConfig) -> Result<PgPool, CoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(cfg.max_connections)
        // A bounded wait: a request fails with 503 rather than hanging forever
        // when the database is gone.
        .acquire_timeout(Duration::from_secs(10))
        .connect(&cfg.url)
        .await?;
    Ok(pool)
}

pub async fn migrate(pool: &PgPool) -> Result<(), CoreError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
