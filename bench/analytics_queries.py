"""Dashboard query latency over generated heartbeats, on the ClickHouse that
infra/dev runs. Generates ROWS heartbeats in a fresh database (through the
materialized views, as production inserts do), then runs every query in
analytics/queries/ RUNS times over a 30-day range and prints p50/p95.

usage: python3 bench/analytics_queries.py CLICKHOUSE_URL DATABASE ROWS RUNS
The database must exist with the schema applied (`cloudcast migrate`); the
release binary rolls the generated days up (`cloudcast rollup`) first.
"""
import json
import os
import subprocess
import re
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

url, db, rows, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
root = Path(__file__).resolve().parent.parent


def ch(sql, **settings):
    params = urllib.parse.urlencode({"database": db, **settings})
    req = urllib.request.Request(f"{url}/?{params}", data=sql.encode())
    with urllib.request.urlopen(req, timeout=3600) as r:
        return r.read().decode()


# 600-beat sessions (10 minutes) on 200 cloudcasts over 30 days, 100k
# listeners, a third anonymous, half of the users consenting, 2% bots.
generate = f"""
INSERT INTO heartbeats (ts, cloudcast_id, tags, session_id, seq, position_ms,
  listener_id, user_id, referrer_domain, browser, os, device, is_bot, ads_consent)
SELECT toDateTime('2026-10-01 00:00:00') + (s % 30) * 86400 + (s % 1000) * 60 + (number % 600),
       concat('cc-', toString(s % 200)),
       [concat('tag', toString(s % 40)), 'house'],
       concat('s', toString(s)),
       toUInt32(number % 600),
       (number % 600) * 1000 + (s % 7) * 600000,
       concat(if(s % 3 = 0, 'a:', 'u:'), toString(s % 100000)),
       if(s % 3 = 0, '', toString(s % 100000)),
       arrayElement(['', 'google.com', 'blog.example', 'social.example', 'news.example'], toUInt64(s % 5 + 1)),
       arrayElement(['Chrome', 'Firefox', 'Safari', 'Edge'], toUInt64(s % 4 + 1)),
       'Linux', 'desktop',
       toUInt8(s % 50 = 0),
       toUInt8(s % 2)
FROM (SELECT number, intDiv(number, 600) AS s FROM system.numbers LIMIT {rows})
"""
t0 = time.monotonic()
# A database already holding the rows (a re-run) is measured as it is.
if int(ch("SELECT count() FROM heartbeats")) != rows:
    # Through a cluster's Distributed table, synchronously (as the shipper
    # inserts), so the rows are on the shards when the clock stops.
    cluster = {"insert_distributed_sync": 1} if os.environ.get("CLOUDCAST__CLICKHOUSE__CLUSTER") else {}
    ch(generate, max_insert_block_size=1048576, **cluster)
gen_secs = time.monotonic() - t0
# Roll the generated (finished) days up, as the analytics role does each minute.
t0 = time.monotonic()
subprocess.run([str(root / "target" / "release" / "cloudcast"), "rollup"], check=True,
               env={**os.environ, "CLOUDCAST__CLICKHOUSE__URL": url, "CLOUDCAST__CLICKHOUSE__DATABASE": db},
               stdout=subprocess.DEVNULL)
rollup_secs = time.monotonic() - t0
counts = {t: int(ch(f"SELECT count() FROM {t}")) for t in
          ["heartbeats", "listener_days", "session_days", "listener_day_totals", "listen_sessions", "retention_days",
           "referrer_days", "ad_interest"]}

binds = {
    "play_min_seconds": "30",
    "cloudcast_from": "'cc-7'",
    "cloudcast_to": "'cc-7'",
    "from": "'2026-10-01'",
    "to": "'2026-10-30'",
    "limit": "20",
    "user_id": "'7'",
    "min_audience": "50",
    "listeners_per_address": "16",
    "session_slack_secs": "10",
    "listen_min_seconds": "300",
    # A DJ's catalogue for the insights: ten of the 200 cloudcasts.
    "cloudcast_ids": "[" + ", ".join(f"'cc-{i}'" for i in range(0, 200, 20)) + "]",
}
queries = root / "analytics" / "queries"


def bind_names(text):
    return [n.strip().rstrip(".").removesuffix(" (dates)") for line in text.splitlines()
            if line.strip().startswith("-- Binds:") for n in line.split(":", 1)[1].split(",")]


def uncommented(text):
    return "\n".join(l for l in text.splitlines() if not l.strip().startswith("--"))


# The listening rule, included where a query says {counted_live} (as
# analytics/src/sql.rs does), with its binds where the query's say so.
counted = (queries / "counted_live.sql").read_text()
results = {}
for path in sorted(queries.glob("*.sql")):
    text = path.read_text()
    names = bind_names(text)
    sql = uncommented(text).replace("{counted_live}", uncommented(counted))
    own_range = "cloudcast_from" in names
    expanded = []
    for n in names:
        if n == "counted_live":
            # The rule's cloudcast range: the query's own, else every cloudcast.
            expanded += [m if own_range or not m.startswith("cloudcast_") else "all_" + m
                         for m in bind_names(counted)]
        else:
            expanded.append(n)
    every = {**binds, "all_cloudcast_from": "''", "all_cloudcast_to": "'\x7f'"}
    for n in expanded:
        sql = sql.replace("?", every[n], 1)
    variants = {path.stem: sql}
    # The dashboard's all-cloudcasts form too; not for the sessions'
    # positions, only ever read for one mix (all of them is every beat).
    if "cloudcast_from" in names and path.stem != "session_positions":
        variants[path.stem + " (all)"] = sql.replace("cloudcast_id >= 'cc-7'", "cloudcast_id >= ''").replace(
            "cloudcast_id <= 'cc-7'", "cloudcast_id <= '\x7f'")
    for name, q in variants.items():
        ch(q)  # warm
        times = []
        for _ in range(runs):
            t = time.monotonic()
            ch(q)
            times.append((time.monotonic() - t) * 1000)
        times.sort()
        results[name] = {"p50_ms": round(statistics.median(times), 1),
                         "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1)}
print(json.dumps({"rows": rows, "generate_secs": round(gen_secs, 1), "rollup_secs": round(rollup_secs, 1),
                  "counts": counts, "queries": results}))
