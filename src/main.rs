//! The `cloudcast` command: `serve`, `migrate`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use cloudcast::Role;
use cloudcast_core::Config;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
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
            let running = cloudcast::start(config, &role).await?;
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
    }
    Ok(())
}
