//! Real-browser page drivers: `web/tests/*.mjs` run headless Chromium
//! through Playwright.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Runs a headless-browser page driver (`web/tests/<script>`) in node with
/// `args` and `env`; returns the one line of JSON it prints, or fails the
/// test with what it wrote to stderr.
pub async fn run_page(script: &str, args: Vec<String>, env: &[(&str, &str)]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("web/tests")
        .join(script);
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node").arg(path).args(args).envs(env).output()
    })
    .await
    .expect("join")
    .expect("node must be installed (infra/dev installs it) and web/ built");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}
