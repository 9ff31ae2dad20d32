//! The settings page in a real browser (Chromium): consents, an API key that
//! works, the data export downloaded with the button, and the account
//! deleted with its password.

use std::io::Read;

use crate::support::TestSystem;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_page_exports_and_deletes_an_account() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_settings", |c| {
        c.http.web_dir = root.join("web");
        // Sign-in, new password, new email, a wrong and a right password to
        // delete: each asks for the password, in the same per-login bucket.
        c.auth.login_per_minute_per_account = 20;
    })
    .await;
    let token = sys.user("ws_listener").await;
    assert!(sys.me(&token).await["id"].is_string());

    let download = sys.dir.path().join("export.zip");
    let shown = crate::support::run_page(
        "settings_page.mjs",
        vec![
            sys.base.clone(),
            "ws_listener".into(),
            "correct horse battery".into(),
            download.to_string_lossy().into_owned(),
        ],
        &[],
    )
    .await;

    // The account's quota and its use; a confirmed address asks for nothing.
    assert_eq!(shown["unverifiedNotice"], false, "{shown}");
    let quota = shown["quota"].as_array().expect("quota rows");
    assert_eq!(quota.len(), 3, "{shown}");
    assert_eq!(quota[0][0], "Unfinished uploads", "{shown}");
    assert_eq!(quota[0][1], "0", "{shown}");

    // The defaults (nothing presumed), then the change on record (newest
    // first).
    assert_eq!(shown["thirdPartyBefore"], false, "{shown}");
    assert_eq!(shown["adsBefore"], false, "{shown}");
    let history = shown["history"].as_array().expect("history");
    assert_eq!(history.len(), 3, "{shown}");
    assert_eq!(history[0][1], "Contact by partners", "{shown}");
    assert_eq!(history[0][2], "yes", "{shown}");
    assert_eq!(history[0][3], "you", "{shown}");

    // The key was shown once, listed by its prefix, and worked.
    let key = shown["key"].as_str().expect("key");
    assert!(key.starts_with("cck_"), "{shown}");
    assert_eq!(shown["keys"][0][0], "my player", "{shown}");
    assert_eq!(shown["keys"][0][1], format!("{}…", &key[..10]), "{shown}");
    assert_eq!(shown["keyStatus"], 200, "{shown}");

    // The download is the export, with the consent just given.
    assert!(
        shown["exportName"]
            .as_str()
            .is_some_and(|n| n.starts_with("cloudcast-export-") && n.ends_with(".zip")),
        "{shown}"
    );
    let bytes = std::fs::read(&download).expect("downloaded file");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    let mut text = String::new();
    zip.by_name("account.json")
        .expect("account.json")
        .read_to_string(&mut text)
        .expect("read");
    let doc: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(doc["account"]["username"], "ws_listener");
    assert_eq!(doc["consents"]["third_party_contact"], true);
    assert_eq!(doc["api_keys"][0]["name"], "my player");

    // The password and the address were changed from the page.
    assert!(
        shown["passwordStatus"]
            .as_str()
            .is_some_and(|m| m.contains("password is changed")),
        "{shown}"
    );
    assert!(
        shown["emailStatus"]
            .as_str()
            .is_some_and(|m| m.contains("new.ws_listener@example.org")),
        "{shown}"
    );

    // A wrong password was refused on the page; the new one erased it all.
    assert!(
        shown["wrongPassword"]
            .as_str()
            .is_some_and(|m| m.contains("password")),
        "{shown}"
    );
    assert!(
        shown["deleted"]
            .as_str()
            .is_some_and(|m| m.contains("deleted")),
        "{shown}"
    );
    let resp = sys
        .http
        .get(sys.url("/api/v1/users/ws_listener"))
        .send()
        .await
        .expect("profile");
    assert_eq!(resp.status(), 404);
    let resp = sys
        .http
        .get(sys.url("/api/v1/users/ws_listener"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("key");
    assert_eq!(resp.status(), 401, "the account's keys went with it");
    sys.stop().await;
}
