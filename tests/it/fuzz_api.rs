//! The OpenAPI document against the running system, by Schemathesis (an
//! OpenAPI fuzzer, installed in `var/venv` by `infra/dev`): every operation,
//! anonymous and signed in, with a fixed seed, a few tens of examples each
//! and a time cap. It fails on a 5xx, a status or content type the document
//! does not declare, a body outside its schema, and input outside the
//! schema that is not refused.
//!
//! Left out: tus `PATCH` (an octet-stream body, covered by the tus tests),
//! and, signed in, the routes that end the session or the account, and the
//! live notification stream (it never ends).

use std::path::Path;
use std::process::Command;

use crate::support::TestSystem;

/// The checks that must hold for every generated request.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_schema_conformance,negative_data_rejection";
/// Examples per operation and phase.
const EXAMPLES: &str = "25";
/// The whole run's time budget, per identity.
const MAX_SECS: &str = "100";
const SEED: &str = "20261201";
/// The document's 81 operations, less tus PATCH and, signed in, sign-out
/// and account deletion.
const MIN_OPERATIONS: u32 = 78;

/// The phases, and the fuzzer's worker threads for each. The coverage
/// phase runs on one thread: there, two threads describing Hypothesis
/// strategies at once trip CPython 3.11's AST recursion-depth bookkeeping
/// (python/cpython#106905), a crash of the fuzzer with no finding about the
/// API. The other phases take two.
const PHASES: &[(&str, &str)] = &[("coverage", "1"), ("examples,fuzzing,stateful", "2")];

/// Runs the fuzzer's `phases` with `workers` threads over the document at
/// `doc_url`; `Err` with its report when it found problems.
fn run_fuzzer(
    doc_url: &str,
    run_id: &str,
    extra: &[String],
    (phases, workers): (&str, &str),
) -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let st = root.join("var/venv/bin/st");
    // Its reports and Hypothesis's example database stay under var/, out of
    // the checkout's root.
    let work = root.join("var/fuzz").join(run_id);
    std::fs::create_dir_all(&work).map_err(|e| format!("fuzzer folder: {e}"))?;
    let out = Command::new(&st)
        .current_dir(&work)
        .arg("--config-file")
        .arg(root.join("tests/clients/schemathesis.toml"))
        .args([
            "--no-color",
            "run",
            doc_url,
            "--checks",
            CHECKS,
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
            "--max-time",
            MAX_SECS,
            "--phases",
            phases,
            "--workers",
            workers,
            "--request-timeout",
            "30",
            "--max-failures",
            "20",
            "--exclude-operation-id",
            "patch",
            "--suppress-health-check",
            "all",
            "--report",
            "junit",
            "--report-dir",
        ])
        .arg(work.join("report"))
        .args(extra)
        .output()
        .map_err(|e| {
            format!(
                "{}: {e} (infra/dev installs schemathesis into var/venv)",
                st.display()
            )
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{stdout}\n{stderr}"));
    }
    // It tested the whole document (one it could not read would also
    // "pass"): the summary says `Tested: N`.
    let tested = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested:"))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    if tested < MIN_OPERATIONS {
        return Err(format!(
            "only {tested} operations were tested:\n{stdout}\n{stderr}"
        ));
    }
    Ok(())
}

async fn fuzz(sys: &TestSystem, name: &str, extra: &[&str]) {
    let doc = sys.url("/api/openapi.json");
    let run_id = format!("{}-{name}", sys.db_name);
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    let result = tokio::task::spawn_blocking(move || {
        for (i, phases) in PHASES.iter().enumerate() {
            let id = format!("{run_id}-{i}");
            match run_fuzzer(&doc, &id, &extra, *phases) {
                // Should that crash of the fuzzer itself still happen (see
                // PHASES), the run is made again, once.
                Err(report)
                    if report.contains("AST constructor recursion depth mismatch")
                        && !report.contains("FAILURES") =>
                {
                    run_fuzzer(&doc, &format!("{id}-again"), &extra, *phases)?
                }
                other => other?,
            }
        }
        Ok::<(), String>(())
    })
    .await
    .expect("fuzzer thread");
    if let Err(report) = result {
        panic!("the fuzzer ({name}) found problems:\n{report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_api_document_holds_for_every_operation_anonymous_and_signed_in() {
    let sys = TestSystem::start_with("fuzz_api", |c| {
        // The fuzzer signs in and posts beats far faster than any person.
        c.auth.login_per_minute_per_ip = 100_000;
        c.auth.login_per_minute_per_account = 100_000;
        c.stream.intake_per_ip_per_sec = 100_000;
        c.stream.intake_burst = 100_000;
    })
    .await;
    let token = sys.user("fuzz_dj").await;
    fuzz(&sys, "anonymous", &[]).await;
    let header = format!("Authorization: Bearer {token}");
    fuzz(
        &sys,
        "signed_in",
        &[
            "--header",
            &header,
            // These would end the session or the account the rest of the
            // run signs in with.
            "--exclude-operation-id",
            "sign_out",
            "--exclude-operation-id",
            "delete_me",
            // A live stream answers for as long as it is open: it has no
            // end for the fuzzer to read (tests/it/web_notifications.rs
            // drives it with a browser).
            "--exclude-operation-id",
            "notification_stream",
        ],
    )
    .await;
    // The account the run used is still there: nothing it sent broke it.
    assert_eq!(sys.me(&token).await["username"], "fuzz_dj");
    sys.stop().await;
}
