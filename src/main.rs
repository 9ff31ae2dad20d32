//! The `cloudcast` command: `serve`, `migrate`, `rollup`, and the tools below.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use cloudcast::config::Config;
use cloudcast::{Role, cli};

#[derive(Parser)]
#[command(
    name = "cloudcast",
    version,
    about = "Platform core for long-form audio"
)]
struct Cli {
    /// Config file (default: ./cloudcast.toml if present).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the system (all roles unless --role is given).
    Serve {
        /// Roles to run in this process; repeat for several.
        #[arg(long, value_enum, default_values_t = [Role::All])]
        role: Vec<Role>,
        /// Overrides `http.listen`.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// Overrides `s3.endpoint` (empty string: embedded endpoint).
        #[arg(long)]
        s3_endpoint: Option<String>,
    },
    /// Apply the PostgreSQL and ClickHouse migrations and exit.
    Migrate,
    /// Roll finished days up into plain totals now (the analytics role does
    /// this every `analytics.rollup_secs`), and print the days rolled up.
    Rollup,
    /// Operator commands.
    #[command(subcommand)]
    Admin(cli::admin::AdminCommand),
    /// Run the transcode pipeline on a local file and print what it made.
    Transcode {
        input: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Run only the embedded S3 endpoint over `s3.embedded_root`, so that
    /// several processes (or machines) can share it as their `s3.endpoint`.
    S3 {
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
    },
    /// Upload an audio file with a progress bar; run it again to resume.
    Upload {
        file: PathBuf,
        #[arg(long)]
        title: Option<String>,
        /// Server base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server: String,
        /// Bearer token (or set CLOUDCAST_TOKEN).
        #[arg(long)]
        token: Option<String>,
        /// Sign in as this user, with the password in CLOUDCAST_PASSWORD.
        #[arg(long)]
        login: Option<String>,
        /// PATCH size in MiB.
        #[arg(long, default_value_t = 8)]
        chunk_mib: u64,
    },
}

/// Rust allocations go to mimalloc: on the stream hot path glibc's malloc
/// (arena locks, consolidation) cost about a fifth of the server's requests
/// per second (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` and `mi_option_arena_purge_mult` in the
/// `mi_option_e` of mimalloc v3, which libmimalloc-sys builds (the version
/// is pinned by Cargo.lock; libmimalloc-sys does not name these two).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const MI_OPTION_ARENA_PURGE_MULT: libmimalloc_sys::mi_option_t = 24;

/// How long mimalloc keeps a freed page before returning it to the kernel.
/// At 0 every page a request frees and the next one takes is returned and
/// faulted in again (zeroed, with a TLB shootdown across threads): a tenth
/// of the heartbeat intake's CPU. A few tens of milliseconds absorb that
/// churn and still hand multi-MiB upload buffers back promptly.
const PURGE_DELAY_MS: std::os::raw::c_long = 50;

/// C libraries (GStreamer, GLib) still use glibc's malloc, which raises its
/// mmap threshold as large blocks are freed and spreads them over one arena
/// per thread, parking freed buffers in the heap. A fixed threshold and two
/// arenas return them to the kernel.
fn tune_allocator() {
    // mimalloc keeps freed pages 10 ms per thread by default (and 10x that
    // in arenas): multi-MiB upload part buffers freed on one tokio thread
    // then pile up across threads. The arenas' delay is the threads' here.
    // `MIMALLOC_PURGE_DELAY` in the environment (mimalloc's own) wins.
    // SAFETY: setting an option is thread-safe and takes plain integers.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
            libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_PURGE_MULT, 1);
        }
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; called once at start,
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> anyhow::Result<()> {
    tune_allocator();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    // Logs go to stderr so command output (`--json`) stays clean on stdout.
    // Colours only on a terminal: log files and collectors get plain text.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    // The uploader is a client: it needs no server configuration.
    let mut config = match cli.command {
        Command::Upload { .. } => Config::default(),
        _ => Config::load(cli.config.as_deref())?,
    };
    match cli.command {
        Command::Serve {
            role,
            listen,
            s3_endpoint,
        } => {
            // Flags are the last layer.
            if let Some(l) = listen {
                config.http.listen = l;
            }
            if let Some(e) = s3_endpoint {
                config.s3.endpoint = e;
            }
            let running = cloudcast::serve(config, &role).await?;
            println!(
                "Cloudcast is up: open {}/ (health: {}/healthz)",
                running.base_url(),
                running.base_url()
            );
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            tracing::info!("shutting down");
            running.stop().await;
        }
        Command::Migrate => {
            cloudcast::migrate(&config).await?;
            println!("migrations applied");
        }
        Command::Rollup => {
            let ch = cloudcast_analytics::client(&config.clickhouse);
            let today = cloudcast_analytics::dates::DateRange::today();
            let rule = cloudcast_analytics::sql::Rule::of(&config.analytics);
            // Its mutations queue behind the nodes' DDL (ddl.rs).
            let pool = cloudcast_core::db::connect(&config.postgres).await?;
            let lock = cloudcast_analytics::ddl::DdlLock::shared(pool);
            let days = cloudcast_analytics::rollup::roll_once(&ch, &lock, rule, today).await?;
            println!("rolled up {} day(s): {}", days.len(), days.join(" "));
        }
        Command::Admin(cmd) => cli::admin::run(config, cmd).await?,
        Command::Transcode { input, out } => {
            // GStreamer blocks: keep it off the async runtime's threads.
            tokio::task::spawn_blocking(move || cli::transcode::run(&config, input, out)).await??
        }
        Command::S3 { listen } => {
            config.s3.embedded_listen = listen;
            let s3 = cloudcast_core::storage::EmbeddedS3::start(&config.s3).await?;
            cloudcast_core::storage::Storage::new(&config.s3, &s3.endpoint)
                .ensure_bucket()
                .await?;
            println!(
                "S3 endpoint {} serving {}",
                s3.endpoint,
                config.s3.embedded_root.display()
            );
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
        }
        Command::Upload {
            file,
            title,
            server,
            token,
            login,
            chunk_mib,
        } => {
            cli::upload::run(cli::upload::UploadArgs {
                file,
                title,
                server: server.trim_end_matches('/').to_string(),
                token,
                login,
                chunk_mib,
            })
            .await?
        }
    }
    Ok(())
}
