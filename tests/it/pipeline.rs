//! End to end: one mix travels upload -> S3 -> GStreamer -> byte-range HLS
//! -> ffmpeg (a real HLS client) -> heartbeats -> ClickHouse -> stats.

use std::time::Duration;

use crate::support::{TestSystem, decoded_seconds, make_mp3};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mix_travels_the_whole_pipeline() {
    let sys = TestSystem::start("pipeline").await;
    let source = make_mp3(sys.dir.path(), 180);
    let source_secs = decoded_seconds(&source.to_string_lossy());
    assert!(
        (source_secs - 180.0).abs() < 0.1,
        "the source itself decodes to {source_secs} s"
    );

    let token = sys.user("dj_pipeline").await;
    let data = std::fs::read(&source).expect("read source");
    let id = sys.upload(&token, &data, 4, "Three minutes").await;

    let cc = sys.wait_processed(&id, Duration::from_secs(180)).await;
    assert_eq!(cc["status"], "ready", "{cc}");
    assert_eq!(cc["title"], "Three minutes");
    let duration_ms = cc["duration_ms"].as_i64().expect("duration");
    assert!(
        (duration_ms - 180_000).abs() < 200,
        "duration_ms = {duration_ms}"
    );
    let stream_url = cc["stream_url"].as_str().expect("stream_url").to_string();

    // ffmpeg reads master -> media playlist -> byte ranges through our server.
    let streamed = decoded_seconds(&stream_url);
    assert!(
        cc["progress"].is_null(),
        "progress is only shown while processing"
    );
    assert!(
        (streamed - source_secs).abs() <= 0.1,
        "streamed {streamed:.3} s vs source {source_secs:.3} s"
    );

    // The playlists follow the Apple HLS authoring rules for audio, and every
    // rendition decodes end to end through its own media playlist.
    let master = sys.http.get(&stream_url).send().await.expect("master");
    assert_eq!(
        master.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    let master = master.text().await.expect("text");
    let base = stream_url.rsplit_once('/').expect("base").0;
    let variants = check_master(&master);
    assert_eq!(variants.len(), 3, "{master}");
    let mut media_128k = None;
    for (bandwidth, average, uri) in &variants {
        assert!(bandwidth >= average, "BANDWIDTH is the peak: {master}");
        let media = sys
            .http
            .get(format!("{base}/{uri}"))
            .send()
            .await
            .expect("media")
            .text()
            .await
            .expect("text");
        let total = check_media(&media);
        if uri.starts_with("aac_128k.m3u8") {
            media_128k = Some(media.clone());
        }
        assert!(
            (total - duration_ms as f64 / 1000.0).abs() < 0.05,
            "EXTINF sum {total} vs {duration_ms} ms"
        );
        let decoded = decoded_seconds(&format!("{base}/{uri}"));
        assert!(
            (decoded - source_secs).abs() <= 0.1,
            "{uri}: decoded {decoded:.3} s vs source {source_secs:.3} s"
        );
    }
    let media = media_128k.expect("128k variant");

    // Loudness and waveform peaks come from the same decode.
    let loudness = &cc["loudness"];
    let lufs = loudness["integrated_lufs"]
        .as_f64()
        .expect("integrated loudness");
    assert!((-40.0..0.0).contains(&lufs), "{loudness}");
    assert!(
        loudness["true_peak_dbtp"]
            .as_f64()
            .is_some_and(|p| p <= 1.0),
        "{loudness}"
    );
    let peaks: Value = sys
        .http
        .get(cc["peaks_url"].as_str().expect("peaks_url"))
        .send()
        .await
        .expect("peaks")
        .json()
        .await
        .expect("json");
    assert_eq!(peaks["version"], 2);
    assert_eq!(peaks["channels"], 1);
    assert_eq!(peaks["bits"], 8);
    let pixels = peaks["length"].as_u64().expect("length");
    assert!(
        (1795..=1805).contains(&pixels),
        "10 pixels per second of 180 s: {pixels}"
    );
    assert_eq!(
        peaks["data"].as_array().map(Vec::len),
        Some(pixels as usize * 2)
    );

    let (range, uri) = {
        let mut lines = media.lines();
        let mut found = None;
        while let Some(l) = lines.next() {
            if let Some(r) = l.strip_prefix("#EXT-X-BYTERANGE:") {
                found = Some((r.to_string(), lines.next().expect("uri").to_string()));
                break;
            }
        }
        found.expect("a byte range")
    };
    let (len, off) = range.split_once('@').expect("len@off");
    let (len, off): (u64, u64) = (len.parse().expect("len"), off.parse().expect("off"));
    let part = sys
        .http
        .get(format!("{base}/{uri}"))
        .header("Range", format!("bytes={off}-{}", off + len - 1))
        .send()
        .await
        .expect("range");
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-type"], "audio/mp4");
    let cr = part.headers()["content-range"]
        .to_str()
        .expect("cr")
        .to_string();
    assert!(
        cr.starts_with(&format!("bytes {off}-{}/", off + len - 1)),
        "{cr}"
    );
    let bytes = part.bytes().await.expect("bytes");
    assert_eq!(bytes.len() as u64, len);
    assert_eq!(&bytes[4..8], b"moof", "a segment starts with a moof box");

    // A tampered signature is refused.
    let tampered = stream_url.replace("sig=", "sig=00");
    let resp = sys.http.get(&tampered).send().await.expect("tampered");
    assert_eq!(resp.status(), 403);
    assert!(resp.json::<Value>().await.expect("json")["error"]["code"].is_string());

    // One listening session of 60 seconds, sent singly and in batches.
    let beat = |seq: u32| json!({"cloudcast_id": id, "session_id": "e2e-session", "seq": seq, "position_ms": seq * 1000});
    for seq in 0..10 {
        let resp = sys
            .http
            .post(sys.url("/api/v1/heartbeats"))
            .json(&beat(seq))
            .send()
            .await
            .expect("beat");
        assert_eq!(resp.status(), 202, "{:?}", resp.text().await);
    }
    for start in (10..60).step_by(10) {
        let batch: Vec<Value> = (start..start + 10).map(beat).collect();
        let resp = sys
            .http
            .post(sys.url("/api/v1/heartbeats"))
            .json(&batch)
            .send()
            .await
            .expect("batch");
        assert_eq!(resp.status(), 202);
    }
    // A position past the end of the mix is refused.
    let past_end = json!({"cloudcast_id": id, "session_id": "e2e-session", "seq": 99, "position_ms": 10_000_000});
    let resp = sys
        .http
        .post(sys.url("/api/v1/heartbeats"))
        .json(&past_end)
        .send()
        .await
        .expect("past end");
    assert_eq!(resp.status(), 422);
    // A beat re-sent by the player must not count twice.
    let resp = sys
        .http
        .post(sys.url("/api/v1/heartbeats"))
        .json(&beat(59))
        .send()
        .await
        .expect("dup");
    assert_eq!(resp.status(), 202);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let stats = loop {
        let stats: Value = sys
            .http
            .get(sys.url(&format!("/api/v1/cloudcasts/{id}/stats")))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("json");
        if stats["listened_seconds"] == 60 || tokio::time::Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(stats["listeners"], 1, "{stats}");
    assert_eq!(stats["listened_seconds"], 60, "{stats}");
    assert_eq!(stats["plays"], 1, "{stats}");
    sys.stop().await;
}

/// Checks the multivariant playlist; returns (BANDWIDTH, AVERAGE-BANDWIDTH, URI) per variant.
fn check_master(text: &str) -> Vec<(u64, u64, String)> {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"#EXTM3U"));
    assert!(lines.contains(&"#EXT-X-VERSION:7"));
    assert!(lines.contains(&"#EXT-X-INDEPENDENT-SEGMENTS"));
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(attrs) = line.strip_prefix("#EXT-X-STREAM-INF:") {
            let get = |k: &str| {
                attrs
                    .split(',')
                    .find_map(|a| a.strip_prefix(&format!("{k}=")))
                    .unwrap_or_else(|| panic!("{k} missing in {line}"))
                    .to_string()
            };
            assert_eq!(get("CODECS"), "\"mp4a.40.2\"");
            let uri = lines.get(i + 1).expect("URI after STREAM-INF").to_string();
            out.push((
                get("BANDWIDTH").parse().expect("bw"),
                get("AVERAGE-BANDWIDTH").parse().expect("avg"),
                uri,
            ));
        }
    }
    out
}

/// Checks a media playlist against the authoring rules; returns the sum of EXTINF.
fn check_media(text: &str) -> f64 {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.first(), Some(&"#EXTM3U"));
    for tag in [
        "#EXT-X-VERSION:7",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ] {
        assert!(lines.contains(&tag), "{tag} missing:\n{text}");
    }
    assert_eq!(lines.last(), Some(&"#EXT-X-ENDLIST"));
    let target: f64 = lines
        .iter()
        .find_map(|l| l.strip_prefix("#EXT-X-TARGETDURATION:"))
        .expect("TARGETDURATION")
        .parse()
        .expect("integer");
    let map = lines
        .iter()
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:"))
        .expect("EXT-X-MAP");
    let init_len: u64 = map
        .split("BYTERANGE=\"")
        .nth(1)
        .and_then(|r| r.strip_suffix("@0\""))
        .expect("init byte range at 0")
        .parse()
        .expect("length");
    let (mut total, mut next_offset, mut segments, mut sidx_len) = (0.0, init_len, 0, 0);
    for (i, line) in lines.iter().enumerate() {
        if let Some(d) = line.strip_prefix("#EXTINF:") {
            let d: f64 = d.trim_end_matches(',').parse().expect("duration");
            assert!(d <= target + 0.5, "segment of {d} s with target {target}");
            total += d;
            let range = lines[i + 1]
                .strip_prefix("#EXT-X-BYTERANGE:")
                .expect("BYTERANGE after EXTINF");
            let (len, off) = range.split_once('@').expect("len@offset");
            let (len, off): (u64, u64) = (len.parse().expect("len"), off.parse().expect("off"));
            if segments == 0 {
                // The segment index sits between the init section and the
                // first fragment (progressive players seek by it).
                sidx_len = off - init_len;
            } else {
                assert_eq!(off, next_offset, "segments are contiguous");
            }
            next_offset = off + len;
            assert!(lines[i + 2].contains(".mp4?"), "a media URI follows");
            segments += 1;
        }
    }
    assert!(segments > 10, "{segments} segments");
    assert_eq!(
        sidx_len,
        40 + 12 * segments,
        "one segment index entry a fragment"
    );
    total
}
