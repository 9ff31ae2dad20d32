//! The whole system on the ClickHouse cluster `infra/dev test` starts (2
//! shards x 2 replicas under ZooKeeper): migrations run ON CLUSTER at
//! start-up, the shipper lands every beat once through the Distributed
//! table, replication copies each shard, and the statistics read the
//! cluster. (Query-by-query equality with one server: `analytics_views`.)

use std::time::Duration;

use serde_json::Value;

use crate::support::{TestSystem, json_of};

const CLUSTER: &str = "cloudcast";

fn cluster_url() -> String {
    std::env::var("CLOUDCAST_TEST_CLICKHOUSE_CLUSTER_URL").unwrap_or_else(|_| {
        panic!(
            "CLOUDCAST_TEST_CLICKHOUSE_CLUSTER_URL unset: run the tests through `infra/dev test`"
        )
    })
}

async fn count(ch: &clickhouse::Client, sql: &str) -> u64 {
    ch.query(sql)
        .fetch_one()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_runs_on_a_clickhouse_cluster() {
    let sys = TestSystem::start_with("on_cluster", |c| {
        c.clickhouse.url = cluster_url();
        c.clickhouse.cluster = CLUSTER.into();
    })
    .await;
    let config = sys
        .running
        .as_ref()
        .map(|r| r.config.clickhouse.clone())
        .unwrap_or_else(|| panic!("running"));
    let ch = cloudcast_analytics::client(&config);
    let dj = sys.user("cl_dj").await;
    let cc = sys.ready_cloudcast(&dj, 10, "Cluster mix").await;
    let id = cc["id"].as_str().expect("id").to_string();
    // Eight listeners: 35, 40, ... seconds; every one from 35 s is a play.
    let mut expected_seconds = 0;
    for (i, secs) in [35u32, 40, 5, 31, 12, 33, 29, 45].into_iter().enumerate() {
        let token = sys.user(&format!("cl_fan{i}")).await;
        assert_eq!(sys.beats(&token, &id, &format!("s{i}"), secs).await, 202);
        expected_seconds += u64::from(secs);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let stats: Value = loop {
        let (status, stats) = json_of(
            sys.http
                .get(sys.url(&format!("/api/v1/cloudcasts/{id}/stats")))
                .bearer_auth(&dj)
                .send()
                .await
                .expect("stats"),
        )
        .await;
        assert_eq!(status, 200, "{stats}");
        if stats["listened_seconds"] == expected_seconds || tokio::time::Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(stats["listened_seconds"], expected_seconds, "{stats}");
    assert_eq!(stats["listeners"], 8, "{stats}");
    assert_eq!(stats["plays"], 5, "{stats}");

    // Each beat is on one shard, and on both of its replicas.
    let total = count(&ch, "SELECT count() FROM heartbeats").await;
    assert_eq!(total, expected_seconds);
    let cluster = cloudcast_analytics::cluster::Cluster::new(CLUSTER, &config.database)
        .unwrap_or_else(|| panic!("a cluster"));
    let replicas = cloudcast_analytics::cluster::replicas(&ch, &cluster)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let replicas: Vec<&str> = replicas.split(',').collect();
    assert_eq!(replicas.len(), 4, "{replicas:?}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut held = Vec::new();
        for r in &replicas {
            let sql = format!(
                "SELECT count() FROM remote('{r}', '{}', 'heartbeats_local')",
                config.database
            );
            held.push(count(&ch, &sql).await);
        }
        // Replicas 1-2 are shard 1, 3-4 shard 2 (infra/clickhouse-cluster.sh).
        if held[0] == held[1] && held[2] == held[3] && held[0] + held[2] == total {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replicas hold {held:?} of {total}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    sys.stop().await;
    let _ = cloudcast_analytics::server_client(&config)
        .query(&format!(
            "DROP DATABASE IF EXISTS `{}` ON CLUSTER `{CLUSTER}`",
            config.database
        ))
        .execute()
        .await;
}
