//! Starts the whole system in-process through `cloudcast::serve`, the same
//! function `main` uses, against the real PostgreSQL and ClickHouse that
//! `infra/dev test` starts. Each test gets its own PostgreSQL database,
//! ClickHouse database, S3 folder and bucket, so tests run in parallel.
//! Every file a test writes (S3 objects, the heartbeat log, transcode
//! scratch space) is under its own temporary folder, never the checkout's
//! `var/`, so tests run beside a system started by `infra/dev up`.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use cloudcast::config::Config;
use cloudcast::{Role, Running};
use serde_json::{Value, json};
use sqlx::Connection;

use super::media::{b64, make_mp3};
use super::smtp::smtp_sink;

/// `(status, body)` of a JSON request to `path` as `token` (None: anonymous).
pub async fn call(
    sys: &TestSystem,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = sys.http.request(method, sys.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    json_of(req.send().await.expect("request")).await
}

/// The version of the terms in force a sign-up accepts (the shipped
/// example's newest, which the tests' configuration keeps).
pub fn terms() -> String {
    Config::default()
        .policies
        .terms
        .last()
        .map(|t| t.version.clone())
        .unwrap_or_default()
}

/// What a desktop Firefox sends.
pub const BROWSER_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// Tests of other things make dozens of accounts and hundreds of writes
/// from one address in seconds: the abuse limits and quotas are lifted for
/// them (a test's own tweak may set them again; `edges.rs` tests them).
/// They wait for erasures too: removals reach ClickHouse without waiting
/// for a window of others (`erasure.rs` tests the window).
pub fn lift_limits(c: &mut Config) {
    c.privacy.erasure_window = Duration::ZERO;
    // The listening rule is an abuse limit too: tests of other things send
    // a session's beats at once and from one address (`trust.rs` and
    // `analytics_views.rs` test the rule as configured by default).
    c.analytics.session_slack_secs = 86_400;
    c.analytics.listeners_per_address = 1_000_000;
    for n in c.limits.allowances_mut() {
        *n = 1_000_000;
    }
    let q = &mut c.quotas;
    q.open_uploads = 1000;
    q.unverified_open_uploads = 1000;
    for bytes in [
        &mut q.storage_bytes,
        &mut q.unverified_storage_bytes,
        &mut q.daily_upload_bytes,
        &mut q.unverified_daily_upload_bytes,
    ] {
        *bytes = 1 << 50;
    }
}

/// [`lift_limits`] for the nodes a test starts as processes: the lifted
/// `[limits]` and `[quotas]` as `CLOUDCAST__SECTION__KEY` variables.
fn lifted_env() -> Vec<(String, String)> {
    let mut c = Config::default();
    lift_limits(&mut c);
    let sections = [
        ("LIMITS", serde_json::to_value(&c.limits)),
        ("QUOTAS", serde_json::to_value(&c.quotas)),
    ];
    let window = (
        "CLOUDCAST__PRIVACY__ERASURE_WINDOW_SECS".to_string(),
        c.privacy.erasure_window.as_secs().to_string(),
    );
    sections
        .into_iter()
        .flat_map(|(section, value)| {
            let keys = value
                .ok()
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            keys.into_iter().map(move |(key, v)| {
                (
                    format!("CLOUDCAST__{section}__{}", key.to_uppercase()),
                    v.to_string(),
                )
            })
        })
        .chain([
            window,
            (
                "CLOUDCAST__ANALYTICS__SESSION_SLACK_SECS".to_string(),
                c.analytics.session_slack_secs.to_string(),
            ),
            (
                "CLOUDCAST__ANALYTICS__LISTENERS_PER_ADDRESS".to_string(),
                c.analytics.listeners_per_address.to_string(),
            ),
        ])
        .collect()
}

pub struct TestSystem {
    pub running: Option<Running>,
    pub base: String,
    pub http: reqwest::Client,
    pub pg_url: String,
    pub db_name: String,
    pub dir: tempfile::TempDir,
}

fn admin_url() -> String {
    std::env::var("CLOUDCAST_TEST_POSTGRES_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://cloudcast@127.0.0.1:5433/postgres".into())
}

impl TestSystem {
    pub async fn start(name: &str) -> TestSystem {
        Self::start_with(name, |_| {}).await
    }

    pub async fn start_with(name: &str, tweak: impl FnOnce(&mut Config)) -> TestSystem {
        Self::start_roles(name, &[Role::All], tweak).await
    }

    /// The endpoint of this test's S3 (for processes started beside it).
    pub fn s3_endpoint(&self) -> String {
        self.running
            .as_ref()
            .map(|r| r.config.s3.endpoint.clone())
            .unwrap_or_default()
    }

    pub fn bucket(&self) -> String {
        self.running
            .as_ref()
            .map(|r| r.config.s3.bucket.clone())
            .unwrap_or_default()
    }

    pub async fn start_roles(
        name: &str,
        roles: &[Role],
        tweak: impl FnOnce(&mut Config),
    ) -> TestSystem {
        let suffix = &uuid::Uuid::new_v4().simple().to_string()[..8];
        let db_name = format!("cc_test_{name}_{suffix}");
        let admin = admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("PostgreSQL must be running: run the tests through `infra/dev test`");
        sqlx::query(&format!("CREATE DATABASE \"{db_name}\""))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let pg_url = match admin.rsplit_once('/') {
            Some((base, _)) => format!("{base}/{db_name}"),
            None => panic!("admin URL has no database part"),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::default();
        config.http.listen = "127.0.0.1:0".parse().expect("addr");
        config.postgres.url = pg_url.clone();
        config.postgres.max_connections = 8;
        if let Ok(url) = std::env::var("CLOUDCAST__CLICKHOUSE__URL") {
            config.clickhouse.url = url;
        }
        config.clickhouse.database = db_name.clone();
        config.s3.bucket = format!("cc-test-{suffix}");
        config.s3.embedded_root = dir.path().join("s3");
        config.transcode.work_dir = dir.path().join("work");
        config.analytics.flush = Duration::from_millis(200);
        config.analytics.wal_dir = dir.path().join("wal");
        lift_limits(&mut config);
        tweak(&mut config);
        let running = cloudcast::serve(config, roles)
            .await
            .expect("system starts");
        let base = running.base_url();
        TestSystem {
            running: Some(running),
            base,
            // A browser's identity: requests without one count as bots in
            // the statistics, and these tests play the part of listeners.
            http: reqwest::Client::builder()
                .user_agent(BROWSER_UA)
                .build()
                .expect("HTTP client"),
            pg_url,
            db_name,
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs a user up, opens the link mailed to them (which confirms the
    /// address and signs them in, as in a browser) and returns the bearer
    /// token.
    pub async fn user(&self, username: &str) -> String {
        self.user_born(username, "1990-05-17").await
    }

    /// [`TestSystem::user`] born on `birth_date` (a minor, say).
    pub async fn user_born(&self, username: &str, birth_date: &str) -> String {
        self.user_at(&self.base, username, birth_date, "correct horse battery")
            .await
    }

    /// Signs `username` (at `username@example.org`) up on the node at
    /// `base`, opens the mailed link there and returns the session token.
    pub async fn user_at(
        &self,
        base: &str,
        username: &str,
        birth_date: &str,
        password: &str,
    ) -> String {
        let email = format!("{username}@example.org");
        let resp = self
            .http
            .post(format!("{base}/api/v1/accounts"))
            .json(&json!({
                "email": email,
                "username": username,
                "password": password,
                "birth_date": birth_date,
                "terms": terms(),
            }))
            .send()
            .await
            .expect("register");
        assert_eq!(resp.status(), 202, "sign up: {:?}", resp.text().await);
        self.confirm_at(base, &email).await
    }

    /// Signs `login` in with the tests' password on the node at `base`;
    /// returns the status.
    pub async fn sign_in_at(&self, base: &str, login: &str) -> u16 {
        self.http
            .post(format!("{base}/api/v1/sessions"))
            .json(&json!({"login": login, "password": "correct horse battery"}))
            .send()
            .await
            .expect("sign in")
            .status()
            .as_u16()
    }

    /// A user whose address is not confirmed, as accounts made before
    /// sign-ups needed their link (and by `cloudcast admin`) may be: signed
    /// up and confirmed, then the confirmation taken back in the database.
    pub async fn unverified_user(&self, username: &str) -> String {
        let token = self.user(username).await;
        self.pg_exec(&format!(
            "UPDATE users SET email_verified_at = NULL WHERE username = '{username}'"
        ))
        .await;
        token
    }

    /// `POST /api/v1/accounts` for `username` at `email`: 202.
    pub async fn sign_up(&self, username: &str, email: &str) {
        let resp = self
            .http
            .post(self.url("/api/v1/accounts"))
            .json(&json!({
                "email": email,
                "username": username,
                "password": "correct horse battery",
                "birth_date": "1990-05-17",
                "terms": terms(),
            }))
            .send()
            .await
            .expect("register");
        assert_eq!(resp.status(), 202, "sign up: {:?}", resp.text().await);
    }

    /// The newest link mailed to `email` holding `path` (read from the
    /// outbox, as the mailbox page shows it).
    pub async fn mailed_link(&self, email: &str, path: &str) -> String {
        let bodies = self
            .pg_strings(&format!(
                "SELECT body FROM email_outbox WHERE to_address = '{email}' ORDER BY created_at DESC, id DESC"
            ))
            .await;
        bodies
            .iter()
            .flat_map(|b| b.split_whitespace())
            .find(|w| w.starts_with("http") && w.contains(path))
            .unwrap_or_else(|| panic!("no {path} link mailed to {email}: {bodies:?}"))
            .to_string()
    }

    /// Opens the newest confirmation link mailed to `email` as the site's
    /// page does (`POST /api/v1/accounts/confirm`): returns the session.
    pub async fn confirm_from_mail(&self, email: &str) -> String {
        self.confirm_at(&self.base, email).await
    }

    /// [`TestSystem::confirm_from_mail`] on the node at `base`.
    pub async fn confirm_at(&self, base: &str, email: &str) -> String {
        let link = self.mailed_link(email, "/verify-email?token=").await;
        let token = link
            .split("token=")
            .nth(1)
            .and_then(|t| t.split('&').next())
            .expect("a token in the link");
        let resp = self
            .http
            .post(format!("{base}/api/v1/accounts/confirm"))
            .json(&json!({"token": token}))
            .send()
            .await
            .expect("confirm");
        assert_eq!(resp.status(), 200, "confirm: {:?}", resp.text().await);
        let body: Value = resp.json().await.expect("json");
        body["token"].as_str().expect("token").to_string()
    }

    /// A system whose mail goes to a local SMTP sink; returns the sink's
    /// messages too.
    pub async fn start_with_smtp(
        name: &str,
    ) -> (TestSystem, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        TestSystem::start_with_smtp_and(name, |_| {}).await
    }

    /// As [`TestSystem::start_with_smtp`], with more configuration.
    pub async fn start_with_smtp_and(
        name: &str,
        tweak: impl FnOnce(&mut Config),
    ) -> (TestSystem, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let (port, mails) = smtp_sink().await;
        let sys = TestSystem::start_with(name, |c| {
            c.smtp.host = "127.0.0.1".into();
            c.smtp.port = port;
            c.smtp.security = cloudcast_accounts::config::SmtpSecurity::None;
            tweak(c);
        })
        .await;
        (sys, mails)
    }

    /// The `cloudcast` binary on this system's PostgreSQL and ClickHouse,
    /// run in a fresh folder of this test's own (so any relative path, and
    /// every default folder, is the test's), with its own heartbeat log,
    /// transcode scratch space and embedded S3 root, and the web pages of
    /// the checkout.
    pub fn command(&self) -> Command {
        let home = self.dir.path().join(format!(
            "proc-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        std::fs::create_dir_all(&home).expect("a folder for the process");
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let web = root.join("web");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_cloudcast"));
        cmd.current_dir(&home)
            .env("CLOUDCAST__POSTGRES__URL", &self.pg_url)
            .env("CLOUDCAST__CLICKHOUSE__DATABASE", &self.db_name)
            .env("CLOUDCAST__ANALYTICS__WAL_DIR", home.join("wal"))
            .env("CLOUDCAST__TRANSCODE__WORK_DIR", home.join("work"))
            .env("CLOUDCAST__S3__EMBEDDED_ROOT", home.join("s3"))
            .env("CLOUDCAST__HTTP__WEB_DIR", web)
            .env("CLOUDCAST__POLICIES__DIR", root.join("docs/policies"))
            .envs(lifted_env());
        if let Ok(url) = std::env::var("CLOUDCAST__CLICKHOUSE__URL") {
            cmd.env("CLOUDCAST__CLICKHOUSE__URL", url);
        }
        cmd
    }

    /// [`TestSystem::command`] on this system's S3 endpoint and bucket.
    pub fn command_on_s3(&self) -> Command {
        let mut cmd = self.command();
        cmd.env("CLOUDCAST__S3__ENDPOINT", self.s3_endpoint())
            .env("CLOUDCAST__S3__BUCKET", self.bucket());
        cmd
    }

    /// Runs the `cloudcast` binary against this system's stores.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.command()
            .args(args)
            .env("CLOUDCAST_ADMIN_PASSWORD", "an admin password")
            .output()
            .expect("run cloudcast")
    }

    /// Makes `username` an administrator (as `cloudcast admin` would).
    pub async fn make_admin(&self, username: &str) {
        let mut conn = sqlx::PgConnection::connect(&self.pg_url)
            .await
            .expect("PostgreSQL");
        sqlx::query("UPDATE users SET is_admin = true WHERE username = $1")
            .bind(username)
            .execute(&mut conn)
            .await
            .expect("make admin");
    }

    /// `token`'s user consents to personalised ads in settings (off
    /// unless given).
    pub async fn consent_to_ads(&self, token: &str) {
        let resp = self
            .http
            .put(self.url("/api/v1/me/consents"))
            .bearer_auth(token)
            .json(&serde_json::json!({"personalised_ads": true}))
            .send()
            .await
            .expect("consent");
        assert_eq!(resp.status(), 200, "consent to ads");
    }

    /// `GET /api/v1/me` for `token`'s user.
    pub async fn me(&self, token: &str) -> Value {
        let resp = self
            .http
            .get(self.url("/api/v1/me"))
            .bearer_auth(token)
            .send()
            .await
            .expect("me");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("json")
    }

    /// Posts `n` heartbeats for `token`'s user, one a second, playing the
    /// first 8 s over and over (any cloudcast is that long); returns the status.
    pub async fn beats(&self, token: &str, cloudcast: &str, session: &str, n: u32) -> u16 {
        let beats: Vec<Value> = (0..n)
            .map(|s| json!({"cloudcast_id": cloudcast, "session_id": session, "seq": s, "position_ms": (s % 8) * 1000}))
            .collect();
        self.http
            .post(self.url("/api/v1/heartbeats"))
            .bearer_auth(token)
            .json(&beats)
            .send()
            .await
            .expect("beats")
            .status()
            .as_u16()
    }

    /// Puts the 1x1 PNG as `token`'s avatar; returns the status.
    pub async fn put_avatar(&self, token: &str) -> u16 {
        self.http
            .put(self.url("/api/v1/me/avatar"))
            .bearer_auth(token)
            .header("content-type", "image/png")
            .body(PNG_1X1.to_vec())
            .send()
            .await
            .expect("avatar")
            .status()
            .as_u16()
    }

    /// Starts a background export for `token`'s user (202); returns its
    /// status document.
    pub async fn start_export(&self, token: &str) -> Value {
        let (status, ex) = json_of(
            self.http
                .post(self.url("/api/v1/me/exports"))
                .bearer_auth(token)
                .send()
                .await
                .expect("export"),
        )
        .await;
        assert_eq!(status, 202, "{ex}");
        ex
    }

    /// Polls an export's status path (202 "building" meanwhile) until it is
    /// ready; returns its status document.
    pub async fn wait_export(&self, token: &str, status_path: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (status, body) = json_of(
                self.http
                    .get(self.url(status_path))
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("export status"),
            )
            .await;
            if status == 200 {
                assert_eq!(body["status"], "ready", "{body}");
                return body;
            }
            assert_eq!(
                (status, body["status"].as_str()),
                (202, Some("building")),
                "{body}"
            );
            assert!(tokio::time::Instant::now() < deadline, "export never ready");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// One text value per row of a query on this test's PostgreSQL database.
    pub async fn pg_strings(&self, sql: &str) -> Vec<String> {
        let mut conn = sqlx::PgConnection::connect(&self.pg_url)
            .await
            .expect("PostgreSQL");
        sqlx::query_scalar(sql)
            .fetch_all(&mut conn)
            .await
            .expect("SQL")
    }

    /// Runs one SQL statement on this test's PostgreSQL database.
    pub async fn pg_exec(&self, sql: &str) {
        let mut conn = sqlx::PgConnection::connect(&self.pg_url)
            .await
            .expect("PostgreSQL");
        sqlx::query(sql).execute(&mut conn).await.expect("SQL");
    }

    /// The account's data export (asked inline), its `account.json`.
    pub async fn exported_account(&self, token: &str) -> Value {
        let resp = self
            .http
            .get(self.url("/api/v1/me/export"))
            .bearer_auth(token)
            .send()
            .await
            .expect("export");
        assert_eq!(resp.status(), 200, "export");
        account_json(&resp.bytes().await.expect("archive"))
    }

    /// A tus creation request, to send as it is or with more headers.
    pub fn upload_request(&self, token: &str, length: u64) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/api/v1/uploads"))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
    }

    /// Creates a tus upload; returns its URL.
    pub async fn create_upload(&self, token: &str, length: u64, title: &str) -> String {
        let meta = format!("filename {},title {}", b64("mix.mp3"), b64(title));
        let resp = self
            .upload_request(token, length)
            .header("Upload-Metadata", meta)
            .send()
            .await
            .expect("create upload");
        assert_eq!(resp.status(), 201, "create: {:?}", resp.text().await);
        let loc = resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_string();
        self.url(&loc)
    }

    pub async fn patch(
        &self,
        token: &str,
        upload: &str,
        offset: u64,
        chunk: Vec<u8>,
    ) -> reqwest::Response {
        self.http
            .patch(upload)
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(chunk)
            .send()
            .await
            .expect("patch")
    }

    /// Uploads `data` in `chunks` PATCHes; returns the cloudcast id.
    pub async fn upload(&self, token: &str, data: &[u8], chunks: usize, title: &str) -> String {
        let upload = self.create_upload(token, data.len() as u64, title).await;
        let size = data.len().div_ceil(chunks);
        let mut offset = 0usize;
        for chunk in data.chunks(size) {
            let resp = self
                .patch(token, &upload, offset as u64, chunk.to_vec())
                .await;
            assert_eq!(resp.status(), 204, "patch: {:?}", resp.text().await);
            offset += chunk.len();
            assert_eq!(
                resp.headers()["upload-offset"].to_str().ok(),
                Some(offset.to_string().as_str())
            );
        }
        let status = self.upload_status(&upload, token).await;
        assert_eq!(status["state"], "complete");
        assert_eq!(status["offset"], data.len() as u64);
        status["cloudcast_id"]
            .as_str()
            .expect("cloudcast id")
            .to_string()
    }

    /// `GET` an upload's JSON status.
    pub async fn upload_status(&self, upload: &str, token: &str) -> Value {
        self.http
            .get(upload)
            .bearer_auth(token)
            .send()
            .await
            .expect("upload status")
            .json()
            .await
            .expect("json")
    }

    /// `GET /api/v1/cloudcasts/{id}` as JSON, as anyone sees it.
    pub async fn cloudcast(&self, id: &str) -> Value {
        self.cloudcast_as(id, None).await
    }

    /// `GET /api/v1/cloudcasts/{id}` as JSON, as `token`'s user (a draft
    /// is its owner's alone).
    pub async fn cloudcast_as(&self, id: &str, token: Option<&str>) -> Value {
        let mut req = self.http.get(self.url(&format!("/api/v1/cloudcasts/{id}")));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
            .await
            .expect("get cloudcast")
            .json()
            .await
            .expect("json")
    }

    /// Polls the cloudcast until it leaves `processing` (bounded).
    pub async fn wait_processed(&self, id: &str, limit: Duration) -> Value {
        self.wait_processed_as(id, None, limit).await
    }

    /// [`TestSystem::wait_processed`] as `token`'s user.
    pub async fn wait_processed_as(&self, id: &str, token: Option<&str>, limit: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let v = self.cloudcast_as(id, token).await;
            if v["status"] != "processing" {
                return v;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "still processing after {limit:?}: {v}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::query(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.db_name
            ))
            .execute(&mut conn)
            .await;
        }
        let ch = std::env::var("CLOUDCAST__CLICKHOUSE__URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8123".into());
        let _ = reqwest::Client::new()
            .post(ch)
            .body(format!("DROP DATABASE IF EXISTS `{}`", self.db_name))
            .send()
            .await;
    }
}

impl TestSystem {
    /// The folder the embedded S3 endpoint keeps this test's bucket in.
    pub fn bucket_dir(&self) -> PathBuf {
        let s3 = self.dir.path().join("s3");
        let name = std::fs::read_dir(&s3)
            .expect("s3 root")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().to_string())
            .find(|n| n.starts_with("cc-test-"))
            .expect("bucket folder");
        s3.join(name)
    }

    /// The stored original of a cloudcast, read straight from the S3 folder.
    pub fn stored_original(&self, cloudcast: &str) -> Vec<u8> {
        let dir = self.bucket_dir().join("originals").join(cloudcast);
        let file = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .find(|e| e.path().is_file())
            .expect("the original is stored");
        std::fs::read(file.path()).expect("read original")
    }
}

/// A valid 1x1 PNG (avatars).
pub const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// An integer from a ClickHouse JSON row: 64-bit ones come quoted.
/// `account.json` of a data-export archive.
pub fn account_json(archive: &[u8]) -> Value {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).expect("a zip archive");
    serde_json::from_reader(zip.by_name("account.json").expect("account.json")).expect("JSON")
}

pub fn ch_u64(v: &Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

impl TestSystem {
    /// `cloudcast serve --role ROLE` on this test's stores.
    pub fn node_command(&self, role: &str, listen: &str) -> Command {
        let mut cmd = self.command_on_s3();
        cmd.args(["serve", "--role", role, "--listen", listen])
            .env("CLOUDCAST__ANALYTICS__FLUSH_MS", "200")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    /// A ready cloudcast of `seconds` of generated audio owned by `token`'s user.
    pub async fn ready_cloudcast(&self, token: &str, seconds: u32, title: &str) -> Value {
        let source = make_mp3(self.dir.path(), seconds);
        let data = std::fs::read(&source).expect("read source");
        let id = self.upload(token, &data, 1, title).await;
        let cc = self.wait_processed(&id, Duration::from_secs(180)).await;
        assert_eq!(cc["status"], "ready", "{cc}");
        cc
    }

    /// Rows of a ClickHouse query on this test's database, as JSON objects.
    pub async fn clickhouse_rows(&self, sql: &str) -> Vec<Value> {
        let text = self
            .clickhouse_exec(&format!("{sql} FORMAT JSONEachRow"))
            .await;
        text.lines()
            .map(|l| serde_json::from_str(l).expect("JSON row"))
            .collect()
    }

    /// Runs one ClickHouse statement on this test's database; its answer.
    pub async fn clickhouse_exec(&self, sql: &str) -> String {
        let ch = std::env::var("CLOUDCAST__CLICKHOUSE__URL")
            .unwrap_or_else(|_| "http://127.0.0.1:8123".into());
        reqwest::Client::new()
            .post(format!("{ch}/?database={}", self.db_name))
            .body(sql.to_string())
            .send()
            .await
            .expect("ClickHouse answers")
            .error_for_status()
            .expect("statement succeeds")
            .text()
            .await
            .expect("text")
    }
}

/// A response's status and JSON body (the raw text as a JSON string when
/// the body is not JSON, so assertions show what came back).
pub async fn json_of(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
