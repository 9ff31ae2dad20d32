//! The `cloudcast` system: one [`start`] entry point that `main` and the
//! end-to-end tests share. It connects the stores, applies migrations, starts
//! the embedded S3 endpoint when no endpoint is configured, and runs the
//! requested roles (all of them by default) in this process.

pub mod cli;
mod http;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use axum::serve::ListenerExt;
use cloudcast_core::Config;
use cloudcast_core::signing::UrlSigner;
use cloudcast_core::storage::{EmbeddedS3, Storage};

pub use http::app;

/// How often favourite events are copied to ClickHouse and queued removals
/// applied there: changes show within seconds, and an idle round costs a
/// few tiny queries.
const SYNC_EVERY: Duration = Duration::from_secs(2);

/// What one process does. `All` is the single-machine default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    All,
    Ingest,
    Stream,
    Worker,
    Analytics,
}

impl Role {
    fn runs(self, roles: &[Role]) -> bool {
        roles.contains(&Role::All) || roles.contains(&self)
    }
}

/// A running system; dropping it does not stop it, call [`Running::stop`].
pub struct Running {
    pub addr: SocketAddr,
    pub config: Arc<Config>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    _embedded_s3: Option<EmbeddedS3>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests, lets workers and the heartbeat shipper
    /// finish their current work, and waits for them. Unshipped heartbeats
    /// stay in the log for the next start.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
        }
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// Shared handles built once and given to every role.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub pool: sqlx::PgPool,
    pub storage: Storage,
    pub clickhouse: cloudcast_analytics::ClickhouseClient,
}

async fn with_retry<T, F, Fut>(what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    // Services started alongside us may need a few seconds to answer.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, "{what} not ready; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.context(format!("{what} did not answer within 30 s"))),
        }
    }
}

pub fn ingest_state(services: &Services, signer: UrlSigner) -> cloudcast_ingest::IngestState {
    cloudcast_ingest::IngestState::new(
        services.pool.clone(),
        services.storage.clone(),
        services.config.clone(),
        signer,
    )
}

/// Connects to the stores without serving anything (for `cloudcast admin`).
pub async fn connect(config: Config) -> anyhow::Result<(Services, Option<EmbeddedS3>)> {
    let mut config = config;
    let embedded = if config.s3.endpoint.is_empty() {
        let s3 = EmbeddedS3::start(&config.s3).await?;
        config.s3.endpoint = s3.endpoint.clone();
        Some(s3)
    } else {
        None
    };
    let storage = Storage::new(&config.s3, &config.s3.endpoint);
    migrate(&config).await?;
    let pool = cloudcast_core::db::connect(&config.postgres).await?;
    let clickhouse = cloudcast_analytics::client(&config.clickhouse);
    Ok((
        Services {
            config: Arc::new(config),
            pool,
            storage,
            clickhouse,
        },
        embedded,
    ))
}

/// Applies the PostgreSQL and ClickHouse migrations (`cloudcast migrate`).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = with_retry("PostgreSQL", || async {
        Ok(cloudcast_core::db::connect(&config.postgres).await?)
    })
    .await?;
    cloudcast_core::db::migrate(&pool).await?;
    with_retry("ClickHouse", || async {
        Ok(cloudcast_analytics::schema::migrate(&config.clickhouse).await?)
    })
    .await?;
    Ok(())
}

/// Starts the system with `roles` and returns once it is listening.
pub async fn start(config: Config, roles: &[Role]) -> anyhow::Result<Running> {
    let shutdown = CancellationToken::new();
    let mut config = config;

    let embedded = if config.s3.endpoint.is_empty() {
        let s3 = EmbeddedS3::start(&config.s3)
            .await
            .context("starting the embedded S3 endpoint")?;
        config.s3.endpoint = s3.endpoint.clone();
        Some(s3)
    } else {
        None
    };
    let storage = Storage::new(&config.s3, &config.s3.endpoint);
    with_retry("S3", || async { Ok(storage.ensure_bucket().await?) }).await?;

    migrate(&config).await?;
    let pool = cloudcast_core::db::connect(&config.postgres).await?;
    let clickhouse = cloudcast_analytics::client(&config.clickhouse);

    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    if config.http.public_url.is_empty() {
        config.http.public_url = format!("http://{addr}");
    }
    let config = Arc::new(config);
    let services = Services {
        config: config.clone(),
        pool,
        storage,
        clickhouse,
    };
    let signer = UrlSigner::from_config(&config.stream, &services.pool)
        .await
        .context("loading the stream URL key")?;

    let mut tasks = Vec::new();
    let beats = if Role::Stream.runs(roles) {
        let (sender, shipper) = cloudcast_analytics::start_log(
            &config.analytics,
            services.clickhouse.clone(),
            services.pool.clone(),
            shutdown.clone(),
        )
        .context("opening the heartbeat log")?;
        tasks.push(shipper);
        Some(sender)
    } else {
        None
    };
    if Role::Ingest.runs(roles) {
        let ingest = ingest_state(&services, signer.clone());
        tasks.push(tokio::spawn(cloudcast_ingest::uploads::run_janitor(
            ingest,
            Duration::from_secs(config.uploads.sweep_secs.max(1)),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_privacy::export::run_sweeper(
            services.pool.clone(),
            services.storage.clone(),
            // Archives live for days; a ten-minute lag in deleting one is nothing.
            Duration::from_secs(600),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_ingest::mail::run_delivery(
            services.pool.clone(),
            config.smtp.clone(),
            shutdown.clone(),
        )));
    }
    if Role::Analytics.runs(roles) {
        tasks.push(tokio::spawn(cloudcast_analytics::favourites::run_copier(
            services.pool.clone(),
            services.clickhouse.clone(),
            SYNC_EVERY,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_analytics::purge::run(
            services.pool.clone(),
            services.clickhouse.clone(),
            services.storage.clone(),
            SYNC_EVERY,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_analytics::rollup::run(
            services.clickhouse.clone(),
            Duration::from_secs(config.analytics.rollup_secs.max(1)),
            shutdown.clone(),
        )));
    }
    if Role::Worker.runs(roles) {
        let state = cloudcast_transcode::WorkerState {
            pool: services.pool.clone(),
            storage: services.storage.clone(),
            config: config.clone(),
        };
        tasks.push(tokio::spawn(cloudcast_transcode::run_workers(
            state,
            shutdown.clone(),
        )));
    }

    let router = app(&services, roles, signer, beats);
    let server_shutdown = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        // No Nagle: a response's last segment must not wait for an ACK.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let served = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { server_shutdown.cancelled().await })
        .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    }));
    tracing::info!(%addr, ?roles, "cloudcast is listening");
    Ok(Running {
        addr,
        config,
        shutdown,
        tasks,
        _embedded_s3: embedded,
    })
}
