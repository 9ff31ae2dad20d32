//! The `cloudcast` system: one [`serve`] entry point that `main` and the
//! end-to-end tests share. It connects the stores, applies migrations, starts
//! the embedded S3 endpoint when no endpoint is configured, and runs the
//! requested roles (all of them by default) in this process.
//!
//! [`Services`] holds the handles every role shares and hands each crate
//! the state it needs (and only the configuration sections it uses);
//! `http.rs` assembles the routers; `telemetry.rs` owns the metrics recorder.

mod body_deadline;
pub mod cli;
pub mod config;
mod http;
mod mailbox;
mod server;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use cloudcast_accounts::{AccountsState, SigninLimits};
use cloudcast_analytics::AnalyticsState;
use cloudcast_catalog::CatalogState;
use cloudcast_core::listener::Listeners;
use cloudcast_core::signing::UrlSigner;
use cloudcast_core::storage::{EmbeddedS3, Storage};
use cloudcast_ingest::IngestState;
use cloudcast_privacy::PrivacyState;

pub use http::app;

/// How often favourite and repost events are copied to ClickHouse and queued removals
/// applied there: changes show within seconds, and an idle round costs a
/// few tiny queries.
const SYNC_EVERY: Duration = Duration::from_secs(2);

/// Archives live for days; a ten-minute lag in deleting an expired one is nothing.
const EXPORT_SWEEP_EVERY: Duration = Duration::from_secs(600);
/// How often the analytics role reads the ClickHouse DDL queue for a
/// replica that stopped running it.
const DDL_WATCH_EVERY: Duration = Duration::from_secs(15);
/// How often sign-ups past their hold without confirmation are deleted.
const PENDING_SWEEP_EVERY: Duration = Duration::from_secs(600);

/// What one process does. `All` is the single-machine default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    All,
    /// The API, the pages, uploads, mail and exports. `ingest`, its older
    /// name, is still accepted.
    #[value(alias = "ingest")]
    Api,
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

/// Shared handles built once; each role's state is made from them.
#[derive(Clone)]
pub struct Services {
    pub config: Arc<Config>,
    pub pool: sqlx::PgPool,
    pub storage: Storage,
    pub clickhouse: cloudcast_analytics::ClickhouseClient,
    pub signer: UrlSigner,
    /// Who is listening: signed listener cookies, hashed clients.
    pub listeners: Listeners,
    /// One set of sign-in limits per process, shared by every password check.
    pub limits: SigninLimits,
    /// The ClickHouse replicas found not running DDL, as the analytics
    /// role's watch last saw them (cluster mode; `/healthz` reports them).
    pub ddl_health: cloudcast_analytics::ddl::Health,
    /// This node's live notification streams and the unsubscribe key.
    pub notifications: cloudcast_notifications::Shared,
    /// The passkeys' relying party: the host of the public URL (none for
    /// an IP address, where passkeys cannot work).
    pub webauthn: Option<Arc<cloudcast_accounts::Webauthn>>,
}

impl Services {
    fn public_url(&self) -> Arc<str> {
        self.config.public_url().into()
    }

    pub fn accounts(&self) -> AccountsState {
        AccountsState {
            pool: self.pool.clone(),
            storage: self.storage.clone(),
            auth: Arc::new(self.config.auth.clone()),
            public_url: self.public_url(),
            max_avatar_bytes: self.config.uploads.max_avatar_bytes,
            max_json_bytes: self.config.http.max_json_bytes,
            limits: self.limits.clone(),
            quotas: Arc::new(self.config.quotas.clone()),
            ads_opt_out: self.config.policies.ads_opt_out,
            webauthn: self.webauthn.clone(),
        }
    }

    pub fn apps(&self) -> cloudcast_apps::AppsState {
        cloudcast_apps::AppsState {
            pool: self.pool.clone(),
            storage: self.storage.clone(),
            public_url: self.public_url(),
            max_json_bytes: self.config.http.max_json_bytes,
            max_logo_bytes: self.config.uploads.max_avatar_bytes,
        }
    }

    pub fn catalog(&self) -> CatalogState {
        CatalogState {
            pool: self.pool.clone(),
            storage: self.storage.clone(),
            signer: self.signer.clone(),
            listeners: self.listeners.clone(),
            public_url: self.public_url(),
            max_json_bytes: self.config.http.max_json_bytes,
            max_picture_bytes: self.config.uploads.max_picture_bytes,
        }
    }

    pub fn ingest(&self) -> IngestState {
        IngestState {
            pool: self.pool.clone(),
            storage: self.storage.clone(),
            uploads: Arc::new(self.config.uploads.clone()),
            quotas: Arc::new(self.config.quotas.clone()),
        }
    }

    pub fn privacy(&self) -> PrivacyState {
        PrivacyState {
            pool: self.pool.clone(),
            storage: self.storage.clone(),
            clickhouse: self.clickhouse.clone(),
            config: Arc::new(self.config.privacy.clone()),
            limits: self.limits.clone(),
            public_url: self.public_url(),
            max_json_bytes: self.config.http.max_json_bytes,
            keys: cloudcast_privacy::apikeys::KeyGate::new(
                self.pool.clone(),
                self.config.privacy.api_key_per_minute,
            ),
        }
    }

    /// `privacy`: the node's one privacy state, so the keys of a suspended
    /// account leave the gate's cache at once.
    pub fn moderation(&self, privacy: PrivacyState) -> cloudcast_moderation::ModerationState {
        cloudcast_moderation::ModerationState {
            pool: self.pool.clone(),
            config: Arc::new(self.config.moderation.clone()),
            privacy,
            public_url: self.public_url(),
            max_json_bytes: self.config.http.max_json_bytes,
        }
    }

    pub fn notifications(&self) -> cloudcast_notifications::NotificationsState {
        cloudcast_notifications::NotificationsState {
            pool: self.pool.clone(),
            config: Arc::new(self.config.notifications.clone()),
            hub: self.notifications.hub.clone(),
            unsubscribe_key: self.notifications.unsubscribe_key.clone(),
            public_url: self.public_url(),
            max_json_bytes: self.config.http.max_json_bytes,
        }
    }

    pub fn analytics(&self) -> AnalyticsState {
        AnalyticsState {
            clickhouse: self.clickhouse.clone(),
            pool: self.pool.clone(),
            config: Arc::new(self.config.analytics.clone()),
        }
    }

    fn worker(&self) -> cloudcast_transcode::WorkerState {
        cloudcast_transcode::WorkerState {
            pool: self.pool.clone(),
            storage: self.storage.clone(),
            config: Arc::new(self.config.transcode.clone()),
        }
    }

    async fn new(config: Config, storage: Storage) -> anyhow::Result<Services> {
        let pool = cloudcast_core::db::connect(&config.postgres).await?;
        let clickhouse = cloudcast_analytics::client(&config.clickhouse);
        let signer =
            UrlSigner::from_config(&config.stream.signing_key, config.stream.url_ttl, &pool)
                .await
                .context("loading the stream URL key")?;
        let listeners = Listeners::load(&pool)
            .await
            .context("loading the listener cookie key")?;
        let notifications = cloudcast_notifications::Shared::load(&pool, &config.notifications)
            .await
            .context("loading the unsubscribe key")?;
        let limits = SigninLimits::new(
            pool.clone(),
            config.auth.login_per_minute_per_ip,
            config.auth.login_per_minute_per_account,
        );
        let webauthn = cloudcast_accounts::passkeys::relying_party(&config.public_url());
        Ok(Services {
            webauthn,
            config: Arc::new(config),
            pool,
            storage,
            clickhouse,
            signer,
            listeners,
            limits,
            ddl_health: Default::default(),
            notifications,
        })
    }
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
                tracing::warn!(error = %format!("{e:#}"), "{what} not ready; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.context(format!("{what} did not answer within 30 s"))),
        }
    }
}

/// The embedded S3 endpoint when no endpoint is configured (its address
/// then becomes `s3.endpoint`), and the client for the endpoint.
async fn storage(config: &mut Config) -> anyhow::Result<(Storage, Option<EmbeddedS3>)> {
    let embedded = if config.s3.endpoint.is_empty() {
        let s3 = EmbeddedS3::start(&config.s3)
            .await
            .context("starting the embedded S3 endpoint")?;
        config.s3.endpoint = s3.endpoint.clone();
        Some(s3)
    } else {
        None
    };
    Ok((Storage::new(&config.s3, &config.s3.endpoint), embedded))
}

/// Connects to the stores without serving anything (for `cloudcast admin`).
pub async fn connect(config: Config) -> anyhow::Result<(Services, Option<EmbeddedS3>)> {
    let mut config = config;
    let (storage, embedded) = storage(&mut config).await?;
    migrate(&config).await?;
    Ok((Services::new(config, storage).await?, embedded))
}

/// Applies the PostgreSQL and ClickHouse migrations (`cloudcast migrate`).
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = with_retry("PostgreSQL", || async {
        Ok(cloudcast_core::db::connect(&config.postgres).await?)
    })
    .await?;
    cloudcast_core::db::migrate(&pool).await?;
    // Data steps that follow the rules in code, not SQL: slugs for rows
    // older than slugs, and accounts whose name became a site address.
    let slugged = cloudcast_core::slugs::backfill(&pool).await?;
    if slugged > 0 {
        tracing::info!(cloudcasts = slugged, "slugs assigned");
    }
    cloudcast_accounts::reserved::rename_reserved(&pool, &config.http.public_url).await?;
    // One node at a time: nodes started together queue here (ddl.rs).
    let lock = cloudcast_analytics::ddl::DdlLock::shared(pool.clone());
    with_retry("ClickHouse", || async {
        Ok(cloudcast_analytics::schema::migrate(&config.clickhouse, &lock).await?)
    })
    .await?;
    Ok(())
}

/// Starts the system with `roles` and returns once it is listening.
pub async fn serve(config: Config, roles: &[Role]) -> anyhow::Result<Running> {
    config.validate()?;
    let metrics = telemetry::install();
    let shutdown = CancellationToken::new();
    let mut config = config;

    let (storage, embedded) = storage(&mut config).await?;
    with_retry("S3", || async { Ok(storage.ensure_bucket().await?) }).await?;
    migrate(&config).await?;

    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding {}", config.http.listen))?;
    let addr = listener.local_addr()?;
    if config.http.public_url.is_empty() {
        config.http.public_url = format!("http://{addr}");
    }
    let services = Services::new(config, storage).await?;
    let config = services.config.clone();

    let mut tasks = Vec::new();
    let beats = if Role::Stream.runs(roles) {
        let a = &config.analytics;
        let (sender, segments) = cloudcast_beats::wal::open(cloudcast_beats::WalConfig {
            dir: a.wal_dir.clone(),
            max_bytes: a.wal_max_bytes,
            segment_rows: a.batch_rows,
            seal_after: a.flush,
            queue: a.queue_capacity,
        })
        .context("opening the heartbeat log")?;
        tasks.push(tokio::spawn(cloudcast_analytics::ship::run(
            segments,
            services.clickhouse.clone(),
            services.pool.clone(),
            !config.clickhouse.cluster.is_empty(),
            shutdown.clone(),
        )));
        Some(sender)
    } else {
        None
    };
    if Role::Api.runs(roles) {
        // The operator's policy texts, copied once per version; consent
        // to ads that was only presumed is set off unless the operator
        // keeps the opt-out.
        cloudcast_accounts::policies::sync(&services.pool, &config.policies)
            .await
            .context("reading the policy documents [policies] names")?;
        if !config.policies.ads_opt_out {
            cloudcast_accounts::consents::withdraw_presumed(&services.pool).await?;
        }
        tasks.push(tokio::spawn(cloudcast_accounts::policies::run_announcer(
            services.pool.clone(),
            services.public_url(),
            config.policies.announce_batch,
            config.policies.announce_every,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_ingest::expiry::run(
            services.ingest(),
            config.uploads.sweep,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_privacy::export_jobs::run(
            services.privacy(),
            cloudcast_privacy::export_jobs::worker_name(addr),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_privacy::exports::run_sweeper(
            services.pool.clone(),
            services.storage.clone(),
            EXPORT_SWEEP_EVERY,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_accounts::mail::run_delivery(
            services.pool.clone(),
            config.smtp.clone(),
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_accounts::registration::run_sweeper(
            services.pool.clone(),
            PENDING_SWEEP_EVERY,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_moderation::sweep::run(
            services.moderation(services.privacy()),
            config.moderation.sweep,
            shutdown.clone(),
        )));
        tasks.extend(cloudcast_notifications::spawn(
            services.notifications(),
            shutdown.clone(),
        ));
        // Once, in the background: avatars kept as uploaded by an earlier
        // release are made again (until then they are not served).
        tasks.push(tokio::spawn(
            cloudcast_accounts::profiles::remake_stored_avatars(
                services.pool.clone(),
                services.storage.clone(),
            ),
        ));
    }
    if Role::Analytics.runs(roles) && !config.clickhouse.cluster.is_empty() {
        tasks.push(tokio::spawn(cloudcast_analytics::ddl::watch(
            services.clickhouse.clone(),
            services.ddl_health.clone(),
            DDL_WATCH_EVERY,
            shutdown.clone(),
        )));
    }
    if Role::Analytics.runs(roles) {
        tasks.push(tokio::spawn(cloudcast_analytics::event_sync::run_copier(
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
            config.privacy.erasure_window,
            shutdown.clone(),
        )));
        let rule = cloudcast_analytics::sql::Rule::of(&config.analytics);
        tasks.push(tokio::spawn(cloudcast_analytics::rollup::run(
            services.clickhouse.clone(),
            cloudcast_analytics::ddl::DdlLock::shared(services.pool.clone()),
            rule,
            config.analytics.rollup,
            config.analytics.raw_months,
            shutdown.clone(),
        )));
        tasks.push(tokio::spawn(cloudcast_analytics::charts::run(
            services.pool.clone(),
            services.clickhouse.clone(),
            rule,
            config.analytics.min_audience,
            config.analytics.charts,
            shutdown.clone(),
        )));
    }
    if Role::Worker.runs(roles) {
        tasks.push(tokio::spawn(cloudcast_transcode::run_workers(
            services.worker(),
            shutdown.clone(),
        )));
    }

    let router = app(&services, roles, beats, metrics);
    let rules = server::ConnectionRules::from_config(&config.http);
    server::raise_open_file_limit(rules.max_connections);
    tasks.push(tokio::spawn(server::run(
        listener,
        router,
        rules,
        shutdown.clone(),
    )));
    tracing::info!(%addr, ?roles, "cloudcast is listening");
    Ok(Running {
        addr,
        config,
        shutdown,
        tasks,
        _embedded_s3: embedded,
    })
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::Role;

    #[test]
    fn the_api_role_still_answers_to_its_older_name() {
        assert_eq!(Role::from_str("api", false), Ok(Role::Api));
        assert_eq!(Role::from_str("ingest", false), Ok(Role::Api));
        assert!(Role::from_str("web", false).is_err());
    }
}
