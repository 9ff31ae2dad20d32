//! A DJ edits their profile in Chromium (`web/tests/profile.mjs`): the
//! fields and each one's visibility, and a picture cropped to a square in
//! the page; another visitor then sees the public fields only.

use serde_json::{Value, json};

use crate::support::{TestSystem, run_page};

/// A 600 x 300 PNG: red on the left half, blue on the right.
fn two_halves(path: &std::path::Path) {
    let img = image::RgbImage::from_fn(600, 300, |x, _| {
        if x < 300 {
            image::Rgb([220, 20, 20])
        } else {
            image::Rgb([20, 20, 220])
        }
    });
    img.save(path).expect("write png");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_edited_in_the_browser_shows_its_public_fields_to_others() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_profile", |c| {
        c.http.web_dir = root.join("web");
    })
    .await;
    let token = sys.user("sunny_beam").await;
    let picture = sys.dir.path().join("halves.png");
    two_halves(&picture);

    let seen = run_page(
        "profile.mjs",
        vec![
            "edit".into(),
            sys.base.clone(),
            "sunny_beam".into(),
            "correct horse battery".into(),
            picture.to_string_lossy().into_owned(),
        ],
        &[],
    )
    .await;
    assert_eq!(seen["avatarStatus"], "Saved.", "{seen}");
    assert_eq!(seen["profileStatus"], "Saved.", "{seen}");

    // Stored as typed, with each field's visibility.
    let own: Value = sys
        .http
        .get(sys.url("/api/v1/me/profile"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("profile")
        .json()
        .await
        .expect("json");
    assert_eq!(own["real_name"], "Sunny Beam", "{own}");
    assert_eq!(own["city"], "Leeds", "{own}");
    assert_eq!(own["country"], "GB", "{own}");
    assert_eq!(
        own["links"],
        json!(["https://sunbeam.example", "https://social.example/@sunbeam"]),
        "{own}"
    );
    assert_eq!(own["visibility"]["city"], Value::Null, "{own}");
    assert_eq!(own["visibility"]["links"], "public", "{own}");

    // The picture is the square chosen in the page: moved right, so the
    // red left half fills more of it than a centred crop would.
    let bytes = sys
        .http
        .get(sys.url("/api/v1/users/sunny_beam/avatar?size=300"))
        .send()
        .await
        .expect("avatar")
        .bytes()
        .await
        .expect("bytes");
    let avatar = image::load_from_memory(&bytes).expect("decode").to_rgb8();
    assert_eq!(avatar.dimensions(), (300, 300));
    let px = avatar.get_pixel(200, 150);
    assert!(
        px[0] > 150 && px[2] < 100,
        "a centred crop shows blue here: {px:?}"
    );

    // Another visitor, signed out and at phone width: the public fields only.
    let other = run_page(
        "profile.mjs",
        vec!["view".into(), sys.base.clone(), "sunny_beam".into()],
        &[("WIDTH", "375")],
    )
    .await;
    assert_eq!(
        other["bio"], "Deep house at sunrise.\nEvery Sunday.",
        "{other}"
    );
    let fields = other["fields"].to_string();
    assert_eq!(
        other["name"], "Sunny Beam",
        "the public real name heads the page: {other}"
    );
    assert!(fields.contains("country: GB"), "{other}");
    assert!(!fields.contains("Leeds"), "the city is private: {other}");
    assert_eq!(
        other["links"],
        json!([
            {"href": "https://sunbeam.example", "rel": "me nofollow noopener"},
            {"href": "https://social.example/@sunbeam", "rel": "me nofollow noopener"},
        ]),
        "{other}"
    );
    assert_eq!(
        other["avatar"], "/api/v1/users/sunny_beam/avatar",
        "{other}"
    );
    assert_eq!(seen["own"]["bio"], other["bio"], "{seen}");
    assert_eq!(
        other["signUpHref"], "/sign-up?next=%2Fsunny_beam",
        "{other}"
    );
    sys.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_takes_comments_in_the_browser_until_its_owner_turns_them_off() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let sys = TestSystem::start_with("web_profile_comments", |c| {
        c.http.web_dir = root.join("web");
    })
    .await;
    sys.user("wall_owner").await;
    sys.user("wall_fan").await;
    let seen = run_page(
        "profile.mjs",
        vec![
            "comments".into(),
            sys.base.clone(),
            "wall_owner".into(),
            "wall_fan".into(),
            "correct horse battery".into(),
        ],
        &[],
    )
    .await;
    assert_eq!(seen["signedOut"], json!({"form": 1, "none": 1}), "{seen}");
    assert_eq!(seen["said"], "Comment posted.", "{seen}");
    assert_eq!(seen["ownerSaw"], json!(["Lovely sunrise sets"]), "{seen}");
    assert_eq!(
        seen["ownForm"], 0,
        "the owner answers, and does not post on their own profile"
    );
    assert_eq!(seen["switchedOn"], true, "{seen}");
    assert_eq!(seen["sectionAfterOff"], 0, "{seen}");
    // What the pages did is what PostgreSQL holds.
    assert_eq!(
        sys.pg_strings(
            "SELECT (SELECT count(*) FROM comments)::text || ' ' || profile_comments::text
               FROM users WHERE username = 'wall_owner'"
        )
        .await,
        ["0 false"]
    );
    sys.stop().await;
}
