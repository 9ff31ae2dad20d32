//! `cloudcast admin ...`: operator commands against the configured stores.

use std::io::BufRead;

use anyhow::Context;
use clap::Subcommand;

use crate::config::Config;
use cloudcast_accounts::operators;
use cloudcast_accounts::registration::NewAccount;
use cloudcast_core::states::ErasureReason;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Create an administrator account. The password is read from
    /// CLOUDCAST_ADMIN_PASSWORD or, if unset, from the first line of stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: String,
        /// YYYY-MM-DD (the age rules apply to administrators too).
        #[arg(long)]
        birth_date: String,
    },
    /// List accounts.
    ListUsers {
        #[arg(long)]
        json: bool,
    },
    /// Queue a security notice (users are told of a breach that concerns
    /// them) for some users or all of them; it goes out through SMTP when
    /// configured.
    NotifyBreach {
        /// Usernames or emails, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            required_unless_present = "all",
            conflicts_with = "all"
        )]
        users: Vec<String>,
        /// Every account.
        #[arg(long)]
        all: bool,
        /// The notice's text.
        #[arg(long)]
        message: String,
    },
    /// Erase an account and everything held about it, e.g. a user reported
    /// to be under 13: PostgreSQL rows and S3 objects now, ClickHouse rows
    /// within seconds.
    PurgeUser {
        /// Username or email.
        #[arg(long)]
        user: String,
        /// Why: `under-13` (a reported child) or `operator`.
        #[arg(long, value_parser = ["under-13", "operator"], default_value = "under-13")]
        reason: String,
    },
    /// Build a user's data archive for a legally compelled disclosure (a
    /// court order or police request) and record who, when, why, the
    /// request's reference and the archive's hash.
    Disclose {
        /// Username or email.
        #[arg(long)]
        user: String,
        /// Why (the legal basis), kept in the audit record.
        #[arg(long)]
        reason: String,
        /// The request's reference (case or order number).
        #[arg(long)]
        reference: String,
        /// Who is disclosing; defaults to the login name running the command.
        #[arg(long, env = "USER", default_value = "unknown")]
        operator: String,
        /// Where to write the archive (a new file).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Every disclosure made, with its audit record.
    Disclosures {
        #[arg(long)]
        json: bool,
    },
    /// Email addresses that partners may use: verified adults who opted in
    /// to third-party contact, as CSV on stdout.
    PartnerContacts,
    /// An account's quota and what it uses; with --open-uploads,
    /// --storage-gib or --daily-gib, set that account's own allowances
    /// (--reset: back to the configured ones).
    Quota {
        /// Username or email.
        #[arg(long)]
        user: String,
        #[arg(long)]
        open_uploads: Option<u32>,
        #[arg(long)]
        storage_gib: Option<u64>,
        #[arg(long)]
        daily_gib: Option<u64>,
        #[arg(long, conflicts_with_all = ["open_uploads", "storage_gib", "daily_gib"])]
        reset: bool,
        /// Why, kept with the change.
        #[arg(long, default_value = "")]
        reason: String,
        /// Who is changing it; defaults to the login name running the command.
        #[arg(long, env = "USER", default_value = "unknown")]
        operator: String,
        #[arg(long)]
        json: bool,
    },
    /// Show the email outbox (verification links and notices).
    Outbox {
        /// Only messages not yet delivered.
        #[arg(long)]
        unsent: bool,
        #[arg(long)]
        json: bool,
    },
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("CLOUDCAST_ADMIN_PASSWORD") {
        return Ok(p);
    }
    eprintln!("password (one line on stdin):");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub async fn run(config: Config, cmd: AdminCommand) -> anyhow::Result<()> {
    let (services, _s3) = crate::connect(config).await?;
    let state = services.accounts();
    match cmd {
        AdminCommand::CreateAdmin {
            email,
            username,
            birth_date,
        } => {
            let password = read_password()?;
            let created = operators::create_admin(
                &state,
                NewAccount {
                    email,
                    username,
                    password,
                    birth_date,
                    next: None,
                    // Asked on the first visit, from the person themselves.
                    terms: None,
                    personalised_ads: None,
                },
            )
            .await?;
            println!(
                "created administrator {} ({})",
                created.username, created.id
            );
        }
        AdminCommand::ListUsers { json } => {
            let users = operators::list_users(&state).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&users)?);
            } else {
                println!(
                    "{:<36}  {:<20}  {:<32}  admin  minor  verified",
                    "id", "username", "email"
                );
                for u in users {
                    println!(
                        "{:<36}  {:<20}  {:<32}  {:<5}  {:<5}  {}",
                        u.id, u.username, u.email, u.is_admin, u.is_minor, u.email_verified
                    );
                }
            }
        }
        AdminCommand::NotifyBreach {
            users,
            all,
            message,
        } => {
            let to = if all {
                operators::Recipients::All
            } else {
                operators::Recipients::Some(&users)
            };
            let notice = operators::notify_breach(&state, to, &message).await?;
            println!("queued a security notice for {} account(s)", notice.mailed);
            for p in &notice.by_hand {
                // The person asked to be told this way too (policy §5).
                println!("tell {} by hand as well: {}", p.username, p.contact);
            }
        }
        AdminCommand::Quota {
            user,
            open_uploads,
            storage_gib,
            daily_gib,
            reset,
            reason,
            operator,
            json,
        } => {
            const GIB: u64 = 1 << 30;
            let id = operators::find_account(&state, &user).await?;
            if reset {
                operators::set_quota(&state, id, None).await?;
            } else if open_uploads.is_some() || storage_gib.is_some() || daily_gib.is_some() {
                let change = operators::QuotaChange {
                    open_uploads,
                    storage_bytes: storage_gib.map(|g| g.saturating_mul(GIB)),
                    daily_upload_bytes: daily_gib.map(|g| g.saturating_mul(GIB)),
                    operator: &operator,
                    reason: &reason,
                };
                operators::set_quota(&state, id, Some(change)).await?;
            }
            let report = cloudcast_core::quotas::report(&state.pool, &state.quotas, id).await?;
            if json {
                println!("{}", serde_json::json!({"user_id": id, "quota": report}));
            } else {
                let (l, u) = (report.limits, report.used);
                println!("account {id}");
                println!(
                    "  unfinished uploads  {:>16} of {}",
                    u.open_uploads, l.open_uploads
                );
                println!(
                    "  bytes held          {:>16} of {}",
                    u.storage_bytes, l.storage_bytes
                );
                println!(
                    "  uploaded today      {:>16} of {}",
                    u.daily_upload_bytes, l.daily_upload_bytes
                );
            }
        }
        AdminCommand::PurgeUser { user, reason } => {
            let reason = match reason.as_str() {
                "operator" => ErasureReason::Operator,
                _ => ErasureReason::Under13,
            };
            let id = cloudcast_privacy::erasure::find_account(&state.pool, &user).await?;
            let erased =
                cloudcast_privacy::erasure::erase(&state.pool, &state.storage, id, reason).await?;
            println!(
                "erased account {}: {} cloudcast(s), {} object(s) deleted; analytics rows are removed by the analytics node within seconds",
                erased.user_id, erased.cloudcasts, erased.objects_deleted
            );
        }
        AdminCommand::Disclose {
            user,
            reason,
            reference,
            operator,
            out,
        } => {
            let out = out.unwrap_or_else(|| {
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                std::path::PathBuf::from(format!("disclosure-{stamp}.zip"))
            });
            let (made, path) = cloudcast_privacy::disclosure::disclose(
                &services.pool,
                &services.clickhouse,
                &services.storage,
                cloudcast_privacy::disclosure::Request {
                    user: &user,
                    operator: &operator,
                    reason: &reason,
                    reference: &reference,
                    out: &out,
                },
            )
            .await?;
            println!(
                "wrote {} ({} bytes, sha256 {}); recorded as disclosure {}",
                path.display(),
                made.archive_bytes,
                made.archive_sha256,
                made.id
            );
        }
        AdminCommand::Disclosures { json } => {
            let all = cloudcast_privacy::disclosure::list(&services.pool).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                for d in all {
                    println!(
                        "{}  {}  {}  by {}  ref {}  sha256 {}  reason: {}",
                        d.created_at,
                        d.id,
                        d.username.as_deref().unwrap_or("(erased)"),
                        d.operator,
                        d.reference,
                        d.archive_sha256,
                        d.reason
                    );
                }
            }
        }
        AdminCommand::PartnerContacts => {
            let rows = cloudcast_privacy::partners::partner_contacts(&state.pool).await?;
            println!("username,email");
            for (username, email) in rows {
                println!(
                    "{},{}",
                    cloudcast_privacy::partners::csv_field(&username),
                    cloudcast_privacy::partners::csv_field(&email)
                );
            }
        }
        AdminCommand::Outbox { unsent, json } => {
            let mails = cloudcast_accounts::mail::list(&state.pool, unsent).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&mails)?);
            } else {
                for m in mails {
                    let sent = m
                        .sent_at
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "not sent".into());
                    println!(
                        "--- {} to {} [{}] {}\nSubject: {}\n\n{}\n",
                        m.id, m.to_address, m.kind, sent, m.subject, m.body
                    );
                }
            }
        }
    }
    Ok(())
}
