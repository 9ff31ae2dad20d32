//! The open API (public data for third parties, never an email): keys with per-key limits, and a crawl of
//! every route in the OpenAPI document, with real data, as an anonymous
//! client, a third party's key, another user and an administrator: no
//! response may show an email address (except the account's own, on its own
//! routes) or a field its owner keeps private.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::{TestSystem, json_of};
use serde_json::{Value, json};

async fn new_key(sys: &TestSystem, token: &str, name: &str) -> (u16, Value) {
    json_of(
        sys.http
            .post(sys.url("/api/v1/me/api-keys"))
            .bearer_auth(token)
            .json(&json!({ "name": name }))
            .send()
            .await
            .expect("key"),
    )
    .await
}

async fn with_key(sys: &TestSystem, key: &str, path: &str) -> reqwest::Response {
    sys.http
        .get(sys.url(path))
        .header("x-api-key", key)
        .send()
        .await
        .expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_read_public_data_within_their_own_limit() {
    let sys = TestSystem::start_with("open_api_keys", |c| {
        c.privacy.api_key_per_minute = 5;
        c.privacy.api_keys_per_user = 3;
    })
    .await;
    let dev = sys.user("oak_dev").await;
    let (status, created) = new_key(&sys, &dev, "  my app ").await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().expect("key").to_string();
    assert!(key.starts_with("cck_") && key.len() > 40, "{key}");
    assert_eq!(created["name"], "my app");
    let (status, list) = json_of(
        sys.http
            .get(sys.url("/api/v1/me/api-keys"))
            .bearer_auth(&dev)
            .send()
            .await
            .expect("list"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list[0]["prefix"], key[..10]);
    assert!(
        !list.to_string().contains(&key),
        "the key is shown once only"
    );
    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({}),
    ] {
        let resp = sys
            .http
            .post(sys.url("/api/v1/me/api-keys"))
            .bearer_auth(&dev)
            .json(&bad)
            .send()
            .await
            .expect("bad");
        let (status, body) = json_of(resp).await;
        assert!((400..500).contains(&status), "{bad}: {status}");
        assert!(body["error"]["code"].is_string());
    }

    // Public data, as the public sees it: the key's owner is not signed in.
    let resp = with_key(&sys, &key, "/api/v1/users/oak_dev").await;
    assert_eq!(resp.status(), 200);
    let resp = sys
        .http
        .get(sys.url("/api/v1/me"))
        .header("x-api-key", &key)
        .bearer_auth(&dev)
        .send()
        .await
        .expect("me");
    assert_eq!(resp.status(), 401, "a key never acts as its owner");
    let (status, body) = json_of(
        sys.http
            .post(sys.url("/api/v1/me/api-keys"))
            .header("x-api-key", &key)
            .bearer_auth(&dev)
            .json(&json!({"name": "sneaky"}))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (403, Some("api_key_read_only"))
    );
    for bad in ["cck_not-a-key", "garbage"] {
        let (status, body) = json_of(with_key(&sys, bad, "/api/v1/users/oak_dev").await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("invalid_api_key")),
            "{bad}"
        );
    }

    // Five a minute: two GETs so far (the POST was refused before counting).
    for _ in 0..3 {
        let resp = with_key(&sys, &key, "/api/v1/users/oak_dev").await;
        assert_eq!(resp.status(), 200);
    }
    let resp = with_key(&sys, &key, "/api/v1/users/oak_dev").await;
    assert_eq!(resp.status(), 429);
    let wait: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    let (_, body) = json_of(resp).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    // Limits are per key: another key of the same user is unaffected, and
    // clients without a key are not limited by it.
    let (status, second) = new_key(&sys, &dev, "second").await;
    assert_eq!(status, 201);
    let second = second["key"].as_str().expect("key").to_string();
    assert_eq!(
        with_key(&sys, &second, "/api/v1/users/oak_dev")
            .await
            .status(),
        200
    );
    let resp = sys
        .http
        .get(sys.url("/api/v1/users/oak_dev"))
        .send()
        .await
        .expect("anon");
    assert_eq!(resp.status(), 200);

    // At most three keys; a revoked key stops working at once on this node.
    let (status, _) = new_key(&sys, &dev, "third").await;
    assert_eq!(status, 201);
    let (status, body) = new_key(&sys, &dev, "fourth").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("too_many"))
    );
    let id = list[0]["id"].as_str().expect("id");
    let resp = sys
        .http
        .delete(sys.url(&format!("/api/v1/me/api-keys/{id}")))
        .bearer_auth(&dev)
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 204);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, _) = json_of(with_key(&sys, &key, "/api/v1/users/oak_dev").await).await;
    assert_eq!(status, 401);
    sys.stop().await;
}

/// Who the crawler is.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Who {
    Anonymous,
    Key,
    Reader,
    Admin,
}

struct World {
    owner_cc: String,
    comment: String,
    upload: String,
    reader_export: String,
    key: String,
    reader: String,
    admin: String,
}

/// The path with its parameters filled from real data; panics on a
/// parameter the crawler does not know, so a new route cannot go unchecked.
fn fill(path: &str, w: &World) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').expect("closing brace") + open;
        let name = &rest[open + 1..close];
        let value = match (name, path) {
            ("username", _) => "oa_owner".to_string(),
            ("slug", _) => "open-mix".to_string(),
            ("tag", _) => "house".to_string(),
            ("size", _) => "300".to_string(),
            ("id", p) if p.starts_with("/api/v1/cloudcasts/") => w.owner_cc.clone(),
            ("id", p) if p.contains("/comments/") => w.comment.clone(),
            ("id", p) if p.starts_with("/api/v1/uploads/") => w.upload.clone(),
            ("id", p) if p.starts_with("/api/v1/me/exports/") => w.reader_export.clone(),
            ("id", p) if p.starts_with("/api/v1/me/api-keys/") => uuid_nil(),
            ("id", p)
                if p.starts_with("/api/v1/admin/reports/")
                    || p.starts_with("/api/v1/admin/counter-notices/") =>
            {
                uuid_nil()
            }
            ("id", p) if p.starts_with("/api/v1/me/notifications/") => uuid_nil(),
            ("id", p)
                if p.starts_with("/api/v1/admin/cases/")
                    || p.starts_with("/api/v1/admin/appeals/")
                    || p.starts_with("/api/v1/admin/decisions/")
                    || p.starts_with("/api/v1/me/decisions/") =>
            {
                uuid_nil()
            }
            ("id", p) if p.starts_with("/api/v1/playlists/") => uuid_nil(),
            ("id", p)
                if p.starts_with("/api/v1/me/apps/")
                    || p.starts_with("/api/v1/me/connected-apps/")
                    || p.starts_with("/api/v1/me/passkeys/") =>
            {
                uuid_nil()
            }
            ("client_id", _) => "cci_unknown".to_string(),
            ("cloudcast_id", p) if p.starts_with("/api/v1/playlists/") => w.owner_cc.clone(),
            ("kind", p) if p.starts_with("/api/v1/policies/") => "privacy".to_string(),
            ("version", p) if p.starts_with("/api/v1/policies/") => "2009-01-01".to_string(),
            ("token", p) if p.starts_with("/api/v1/unsubscribe/") => "not-a-token".to_string(),
            ("n", _) => "0".to_string(),
            ("name", p) if p.contains("/datasets/") => "daily".to_string(),
            ("id", p) if p.starts_with("/stream/") => w.owner_cc.clone(),
            ("file", p) if p.starts_with("/stream/") => "master.m3u8".to_string(),
            _ => panic!("the crawler does not know parameter {{{name}}} of {path}; teach `fill`"),
        };
        out.push_str(&value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

fn uuid_nil() -> String {
    "00000000-0000-0000-0000-000000000000".to_string()
}

/// Every file of a zip archive, decompressed and concatenated.
fn unzip_all(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    let mut out = Vec::new();
    for i in 0..zip.len() {
        zip.by_index(i)
            .expect("entry")
            .read_to_end(&mut out)
            .expect("read entry");
    }
    assert!(!out.is_empty());
    out
}

/// Routes where the caller's own email (and birth date) may appear.
fn own_account_route(path: &str) -> bool {
    path == "/api/v1/me" || path.starts_with("/api/v1/me/export")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_route_of_the_openapi_document_shows_an_email_or_a_private_field() {
    let sys = TestSystem::start("open_api_crawl").await;
    let http = &sys.http;
    let owner = sys.user("oa_owner").await;
    let reader = sys.user("oa_reader").await;
    let admin = sys.user("oa_admin").await;
    sys.make_admin("oa_admin").await;

    // Real data everywhere: a public and a private cloudcast, private and
    // public profile fields, comments (one held), favourites, listening.
    let public = sys.ready_cloudcast(&owner, 10, "Open mix").await;
    let owner_cc = public["id"].as_str().expect("id").to_string();
    let private = sys
        .ready_cloudcast(&owner, 10, "Hidden Private Title")
        .await;
    let private_cc = private["id"].as_str().expect("id").to_string();
    let resp = http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{private_cc}")))
        .bearer_auth(&owner)
        .json(&json!({"visibility": "private", "tags": ["house"]}))
        .send()
        .await
        .expect("private");
    assert_eq!(resp.status(), 200);
    // Catalogue activity around both: tags, a follow, a repost, listen-later.
    let resp = http
        .patch(sys.url(&format!("/api/v1/cloudcasts/{owner_cc}")))
        .bearer_auth(&owner)
        .json(&json!({"tags": ["house"]}))
        .send()
        .await
        .expect("tags");
    assert_eq!(resp.status(), 200);
    for path in [
        "/api/v1/users/oa_owner/follow".to_string(),
        format!("/api/v1/cloudcasts/{owner_cc}/repost"),
        format!("/api/v1/cloudcasts/{owner_cc}/listen-later"),
    ] {
        let resp = http
            .put(sys.url(&path))
            .bearer_auth(&reader)
            .send()
            .await
            .expect("mark");
        assert_eq!(resp.status(), 200, "{path}");
    }
    let resp = http
        .put(sys.url("/api/v1/me/profile"))
        .bearer_auth(&owner)
        .json(
            &json!({"real_name": "Ariadne Privatename", "city": "Secretville",
                      "bio": "Plays records", "visibility": {"bio": "public"}}),
        )
        .send()
        .await
        .expect("profile");
    assert_eq!(resp.status(), 200);
    let (status, c) = json_of(
        http.post(sys.url(&format!("/api/v1/cloudcasts/{owner_cc}/comments")))
            .bearer_auth(&reader)
            .json(&json!({"body": "Great selection"}))
            .send()
            .await
            .expect("comment"),
    )
    .await;
    assert_eq!(status, 201, "{c}");
    let comment = c["id"].as_str().expect("id").to_string();
    let (status, held) = json_of(
        http.post(sys.url(&format!("/api/v1/cloudcasts/{owner_cc}/comments")))
            .bearer_auth(&owner)
            .json(&json!({"body": "you are a fucking idiot"}))
            .send()
            .await
            .expect("held"),
    )
    .await;
    assert_eq!(status, 202, "{held}");
    for t in [&owner, &reader] {
        let resp = http
            .put(sys.url(&format!("/api/v1/cloudcasts/{owner_cc}/favourite")))
            .bearer_auth(t)
            .send()
            .await
            .expect("favourite");
        assert!(resp.status().is_success());
    }
    // The private cloudcast is played and favourited too: public activity
    // and favourites must leave it out.
    let resp = http
        .put(sys.url(&format!("/api/v1/cloudcasts/{private_cc}/favourite")))
        .bearer_auth(&owner)
        .send()
        .await
        .expect("favourite private");
    assert!(resp.status().is_success());
    assert_eq!(sys.beats(&owner, &private_cc, "oa-0", 40).await, 202);
    assert_eq!(sys.beats(&owner, &owner_cc, "oa-1", 40).await, 202);
    assert_eq!(sys.beats(&reader, &owner_cc, "oa-2", 40).await, 202);
    let upload = sys.create_upload(&owner, 1 << 20, "Unfinished").await;
    let upload = upload.rsplit('/').next().expect("id").to_string();
    let (status, key) = new_key(&sys, &reader, "crawler").await;
    assert_eq!(status, 201);
    // The reader's export is ready, so its archive is crawled too.
    let ex = sys.start_export(&reader).await;
    sys.wait_export(&reader, ex["status_url"].as_str().expect("status url"))
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await; // beats reach ClickHouse
    let world = World {
        owner_cc: owner_cc.clone(),
        comment,
        upload,
        reader_export: ex["id"].as_str().expect("id").to_string(),
        key: key["key"].as_str().expect("key").to_string(),
        reader: reader.clone(),
        admin: admin.clone(),
    };

    let (status, doc) = json_of(
        http.get(sys.url("/api/openapi.json"))
            .send()
            .await
            .expect("doc"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    for scheme in ["session", "api_key"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "{scheme}"
        );
    }
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 40, "only {} paths documented", paths.len());

    let emails: Vec<String> = ["oa_owner", "oa_reader", "oa_admin"]
        .iter()
        .map(|u| format!("{u}@example.org"))
        .collect();
    let secrets = [
        "Ariadne Privatename",
        "Secretville",
        "Hidden Private Title",
        "correct horse battery",
        "$argon2id$",
    ];
    let mut ok: BTreeMap<&str, usize> = BTreeMap::new();
    let mut checked = 0;
    for (path, item) in paths {
        let methods = ["get", "put", "post", "delete", "options", "head", "patch"];
        for (method, op) in item.as_object().expect("item") {
            if !methods.contains(&method.as_str()) {
                continue;
            }
            // Every {param} of the path is declared by the operation.
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            for part in path.split('/').filter(|p| p.starts_with('{')) {
                let name = part.trim_matches(|c| c == '{' || c == '}');
                assert!(
                    declared.contains(&name),
                    "{method} {path}: {{{name}}} undeclared"
                );
            }
            let url = sys.url(&fill(path, &world));
            let whos: &[Who] = if method == "get" {
                &[Who::Anonymous, Who::Key, Who::Reader, Who::Admin]
            } else {
                // Changes are crawled anonymously only (they are refused).
                &[Who::Anonymous]
            };
            for &who in whos {
                let req = http.request(method.to_uppercase().parse().expect("method"), &url);
                let req = match who {
                    Who::Anonymous => req,
                    Who::Key => req.header("x-api-key", &world.key),
                    Who::Reader => req.bearer_auth(&world.reader),
                    Who::Admin => req.bearer_auth(&world.admin),
                };
                let req = if method == "get" || method == "head" {
                    req
                } else {
                    req.json(&json!({}))
                };
                let resp = req.send().await.expect("crawl");
                let status = resp.status().as_u16();
                let zipped = resp
                    .headers()
                    .get("content-type")
                    .is_some_and(|v| v == "application/zip");
                let streaming = resp
                    .headers()
                    .get("content-type")
                    .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
                let bytes = if streaming {
                    // A live stream never ends: its first event is what it shows.
                    let mut resp = resp;
                    tokio::time::timeout(Duration::from_secs(10), resp.chunk())
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .flatten()
                        .unwrap_or_default()
                } else {
                    resp.bytes().await.expect("body")
                };
                // An archive is searched file by file, decompressed.
                let bytes = if zipped {
                    unzip_all(&bytes)
                } else {
                    bytes.to_vec()
                };
                assert!(status < 500, "{method} {path} as {who:?}: {status}");
                checked += 1;
                if status == 200 {
                    *ok.entry(match who {
                        Who::Anonymous => "anonymous",
                        Who::Key => "key",
                        Who::Reader => "reader",
                        Who::Admin => "admin",
                    })
                    .or_default() += 1;
                }
                let text = String::from_utf8_lossy(&bytes);
                let own = match who {
                    Who::Reader => Some("oa_reader@example.org"),
                    Who::Admin => Some("oa_admin@example.org"),
                    _ => None,
                };
                for email in &emails {
                    if own == Some(email.as_str()) && own_account_route(path) {
                        continue;
                    }
                    assert!(
                        !text.contains(email.as_str()),
                        "{method} {path} as {who:?} shows {email}: {text}"
                    );
                }
                assert!(
                    !text.contains("@example.org") || own_account_route(path),
                    "{method} {path} as {who:?} shows an email: {text}"
                );
                for s in secrets {
                    assert!(
                        !text.contains(s),
                        "{method} {path} as {who:?} shows {s:?}: {text}"
                    );
                }
                if who != Who::Admin {
                    assert!(
                        !text.contains("fucking idiot"),
                        "{method} {path} as {who:?} shows a held comment"
                    );
                }
                if own.is_none() || !own_account_route(path) {
                    assert!(
                        !text.contains("1990-05-17"),
                        "{method} {path} as {who:?} shows a birth date"
                    );
                }
            }
        }
    }
    // The crawl saw real data, not just refusals.
    assert!(checked >= 100, "{checked} requests");
    for who in ["anonymous", "key", "reader", "admin"] {
        assert!(ok.get(who).copied().unwrap_or(0) >= 8, "{ok:?}");
    }
    sys.stop().await;
}

/// The API document is valid OpenAPI 3.1 as an independent validator
/// reads it (every `$ref` resolves), so generators and fuzzers see every
/// parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_document_is_valid_openapi() {
    let sys = TestSystem::start("openapi_valid").await;
    let resp = sys
        .http
        .get(sys.url("/api/openapi.json"))
        .send()
        .await
        .expect("doc");
    assert_eq!(resp.status(), 200);
    let doc = resp.text().await.expect("text");
    let refs: Vec<&str> = doc
        .split("\"$ref\":\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .collect();
    let parsed: Value = serde_json::from_str(&doc).expect("json");
    for r in &refs {
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(
            parsed["components"]["schemas"][name].is_object(),
            "{r} does not resolve"
        );
    }
    let path = sys.dir.path().join("openapi.json");
    std::fs::write(&path, &doc).expect("write");
    let validator = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/var/venv/bin/openapi-spec-validator"
    );
    let out = std::process::Command::new(validator)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{validator} (infra/dev installs it in var/venv): {e}"));
    assert!(
        out.status.success(),
        "the API document is not valid OpenAPI:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    sys.stop().await;
}
