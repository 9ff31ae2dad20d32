//! `cloudcast upload FILE --title ..`: a tus 1.0 client with a progress bar.
//!
//! The upload URL is remembered per (server, file, size, mtime) in
//! `$XDG_STATE_HOME/cloudcast/uploads.json`, so running the same command again
//! after an interruption resumes from the server's offset instead of starting
//! over. Memory stays at one chunk.

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::StatusCode;
use serde_json::Value;

pub struct UploadArgs {
    pub file: PathBuf,
    pub title: Option<String>,
    pub server: String,
    pub token: Option<String>,
    pub login: Option<String>,
    pub chunk_mib: u64,
}

fn state_file() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("cloudcast").join("uploads.json")
}

fn load_state() -> BTreeMap<String, String> {
    std::fs::read(state_file())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(map: &BTreeMap<String, String>) -> anyhow::Result<()> {
    let path = state_file();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(map)?)?;
    std::fs::rename(tmp, path)?;
    Ok(())
}

fn resume_key(server: &str, file: &Path, size: u64, mtime: u64) -> String {
    format!("{server}|{}|{size}|{mtime}", file.display())
}

async fn token(http: &reqwest::Client, args: &UploadArgs) -> anyhow::Result<String> {
    if let Some(t) = args
        .token
        .clone()
        .or_else(|| std::env::var("CLOUDCAST_TOKEN").ok())
    {
        return Ok(t);
    }
    let Some(login) = &args.login else {
        bail!("give --token (or CLOUDCAST_TOKEN), or --login with CLOUDCAST_PASSWORD set");
    };
    let password = std::env::var("CLOUDCAST_PASSWORD").context("CLOUDCAST_PASSWORD is not set")?;
    let resp = http
        .post(format!("{}/api/v1/sessions", args.server))
        .json(&serde_json::json!({"login": login, "password": password}))
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("sign-in failed: {}", resp.text().await.unwrap_or_default());
    }
    let v: Value = resp.json().await?;
    v["token"]
        .as_str()
        .map(str::to_string)
        .context("the server sent no token")
}

async fn head_offset(
    http: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<Option<(u64, u64)>> {
    let resp = http
        .head(url)
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await?;
    if !resp.status().is_success() {
        return Ok(None);
    }
    let num = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Ok(num("upload-offset").zip(num("upload-length")))
}

pub async fn run(args: UploadArgs) -> anyhow::Result<()> {
    let meta = std::fs::metadata(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let size = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let file_path = std::fs::canonicalize(&args.file)?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?;
    let token = token(&http, &args).await?;
    let key = resume_key(&args.server, &file_path, size, mtime);
    let mut saved = load_state();

    let mut upload_url = None;
    let mut offset = 0;
    if let Some(url) = saved.get(&key)
        && let Some((off, len)) = head_offset(&http, url, &token).await?
        && len == size
    {
        eprintln!("resuming at byte {off} of {size}");
        upload_url = Some(url.clone());
        offset = off;
    }
    let upload_url = match upload_url {
        Some(u) => u,
        None => {
            let filename = file_path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| "upload".into());
            let title = args.title.clone().unwrap_or_else(|| filename.clone());
            let resp = http
                .post(format!("{}/api/v1/uploads", args.server))
                .bearer_auth(&token)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Length", size.to_string())
                .header(
                    "Upload-Metadata",
                    format!(
                        "filename {},title {}",
                        STANDARD.encode(&filename),
                        STANDARD.encode(&title)
                    ),
                )
                .send()
                .await?;
            if resp.status() != StatusCode::CREATED {
                bail!(
                    "creating the upload failed: {}",
                    resp.text().await.unwrap_or_default()
                );
            }
            let loc = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .context("the server sent no Location")?;
            let url = if loc.starts_with("http") {
                loc.to_string()
            } else {
                format!("{}{loc}", args.server)
            };
            saved.insert(key.clone(), url.clone());
            save_state(&saved)?;
            url
        }
    };

    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(offset);
    let chunk = (args.chunk_mib.max(1) * 1024 * 1024) as usize;
    let mut file = std::fs::File::open(&file_path)?;
    let mut failures = 0;
    while offset < size {
        file.seek(SeekFrom::Start(offset))?;
        let mut buf = vec![0u8; chunk.min((size - offset) as usize)];
        file.read_exact(&mut buf)?;
        let sent = http
            .patch(&upload_url)
            .bearer_auth(&token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(buf)
            .send()
            .await;
        match sent {
            Ok(r) if r.status() == StatusCode::NO_CONTENT => {
                offset = r
                    .headers()
                    .get("upload-offset")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .context("the server sent no Upload-Offset")?;
                bar.set_position(offset);
                failures = 0;
            }
            Ok(r)
                if r.status().is_client_error()
                    && r.status() != StatusCode::CONFLICT
                    && r.status() != StatusCode::LOCKED =>
            {
                bail!(
                    "the server refused the upload: {}",
                    r.text().await.unwrap_or_default()
                );
            }
            other => {
                failures += 1;
                if failures > 8 {
                    bail!(
                        "giving up after repeated failures; run the same command again to resume"
                    );
                }
                let why = match other {
                    Ok(r) => format!("HTTP {}", r.status()),
                    Err(e) => e.to_string(),
                };
                bar.println(format!("interrupted ({why}); resuming"));
                tokio::time::sleep(Duration::from_millis(500 << failures.min(5))).await;
                if let Some((off, _)) = head_offset(&http, &upload_url, &token).await.ok().flatten()
                {
                    offset = off;
                    bar.set_position(offset);
                }
            }
        }
    }
    bar.finish();
    saved.remove(&key);
    save_state(&saved)?;
    let status: Value = http
        .get(&upload_url)
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "uploaded {} bytes; cloudcast {}",
        size,
        status["cloudcast_id"].as_str().unwrap_or("(pending)")
    );
    Ok(())
}
