#!/usr/bin/env bash
# Analytics, in one run:
#  1. Sustained heartbeats/s through HTTP -> write-ahead log -> ClickHouse
#     (wrk posting batches of 100 beats, each request a new session; the clock
#     stops when the last accepted beat is counted in ClickHouse), against a
#     direct bulk insert of the very same rows into ClickHouse (one
#     `INSERT .. FORMAT TSV` over HTTP into a fresh copy of the schema, views
#     included). Ratio = ours / direct.
#  2. p50/p95 of every dashboard query (analytics/queries/*.sql) over ROWS
#     generated heartbeats (default 50 M), bench/analytics_queries.py.
#
#   bench/analytics.sh [RUNS=3] [SECS=15] [ROWS=50000000]
#
# Needs the services (infra/dev services); installs wrk.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
RUNS="${1:-3}"
SECS="${2:-15}"
ROWS="${3:-50000000}"
WORK="$ROOT/var/bench/analytics"
PORT=8941
CONNS=16
rm -rf "$WORK" && mkdir -p "$WORK"

bench_tools wrk
eval "$(infra/dev services)"
cargo build --release --bin cloudcast -q
CH="$CLOUDCAST__CLICKHOUSE__URL"
chq() { curl -sfS "$CH/?database=$1" --data-binary "$2"; }

psql -q "$CLOUDCAST_TEST_POSTGRES_ADMIN_URL" -c "DROP DATABASE IF EXISTS cloudcast_bench_an WITH (FORCE)" -c "CREATE DATABASE cloudcast_bench_an"
for db in cloudcast_bench_an cloudcast_bench_direct cloudcast_bench_q; do
  curl -sfS "$CH/" --data-binary "DROP DATABASE IF EXISTS $db"
done
export CLOUDCAST__POSTGRES__URL="${CLOUDCAST__POSTGRES__URL%/*}/cloudcast_bench_an"
export CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast_bench_an
export CLOUDCAST__S3__EMBEDDED_ROOT="$WORK/s3"
export CLOUDCAST__S3__BUCKET=bench
export CLOUDCAST__ANALYTICS__WAL_DIR="$WORK/wal" CLOUDCAST__TRANSCODE__WORK_DIR="$WORK/work"
# One client address sends everything here: lift the per-IP intake limit.
export CLOUDCAST__STREAM__INTAKE_PER_IP_PER_SEC=1000000 CLOUDCAST__STREAM__INTAKE_BURST=1000000
B="http://127.0.0.1:$PORT"
SERVER=""
cleanup() { kill $SERVER 2>/dev/null || true; }
trap cleanup EXIT
start_server() {
  target/release/cloudcast serve --listen "127.0.0.1:$PORT" "$@" >> "$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 150); do curl -sf "$B/healthz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "server did not start; see $WORK/server.log" >&2; exit 1
}
start_server

# A 10-minute mix to listen to.
bench_mix "$WORK" "$B" 600 128
# Measure a stream node as production runs it: its own process.
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
start_server --role stream
# The direct insert's target: the same schema and views, empty.
CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast_bench_direct target/release/cloudcast migrate >/dev/null

beats_lua "$ID" "$WORK/beats.lua"

count() { chq "$1" "SELECT count() FROM heartbeats"; }
ours=(); direct=()
for run in $(seq "$RUNS"); do
  before=$(count cloudcast_bench_an)
  start=$(date +%s.%N)
  out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$WORK/beats.lua" "$B/api/v1/heartbeats")
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  accepted=$(( (reqs - ${non2xx:-0}) * 100 ))
  target=$((before + accepted))
  # Wait until every accepted beat is in ClickHouse.
  for _ in $(seq 1200); do
    now=$(count cloudcast_bench_an)
    (( now >= target )) && break
    sleep 0.05
  done
  landed=$(date +%s.%N)
  (( now >= target )) || { echo "run $run: only $((now - before)) of $accepted beats arrived" >&2; exit 1; }
  ours+=("$(python3 -c "print(round($accepted / ($landed - $start)))")")

  # The same rows (this run's), straight into ClickHouse.
  chq cloudcast_bench_an "SELECT * FROM heartbeats WHERE ts >= toDateTime(${start%.*}) FORMAT TSV" > "$WORK/rows.tsv"
  rows=$(wc -l < "$WORK/rows.tsv")
  t0=$(date +%s.%N)
  curl -sfS "$CH/?database=cloudcast_bench_direct&query=INSERT%20INTO%20heartbeats%20FORMAT%20TSV" --data-binary @"$WORK/rows.tsv"
  t1=$(date +%s.%N)
  direct+=("$(python3 -c "print(round($rows / ($t1 - $t0)))")")
  echo "run $run: ours ${ours[-1]} beats/s ($accepted beats, ${non2xx:-0} non-2xx), direct ${direct[-1]} rows/s ($rows rows)" >&2
  sleep 1  # the next run's rows start in a later second
done

curl -sfS "$CH/" --data-binary "CREATE DATABASE cloudcast_bench_q"
CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast_bench_q target/release/cloudcast migrate >/dev/null
echo "generating $ROWS heartbeats for the query latencies..." >&2
QUERIES=$(python3 bench/analytics_queries.py "$CH" cloudcast_bench_q "$ROWS" 20)

python3 - "$QUERIES" "${ours[*]}" "${direct[*]}" "$WORK/figures.json" <<'PY'
import json, statistics, sys
q = json.loads(sys.argv[1])
ours = [int(x) for x in sys.argv[2].split()]
direct = [int(x) for x in sys.argv[3].split()]
mo, md = statistics.median(ours), statistics.median(direct)
print(f"heartbeats HTTP -> WAL -> ClickHouse: median {mo:.0f} beats/s; direct bulk insert: median {md:.0f} rows/s; ratio {mo / md:.2f}")
print(f"  runs ours {ours}, direct {direct}")
print(f"dashboard queries over {q['rows']:,} heartbeats (generated in {q['generate_secs']} s, rolled up in {q['rollup_secs']} s; rows {q['counts']}):")
# Retention over every cloudcast at once is a download only (the dashboard
# shows the retention of one cloudcast), so it is reported but not judged.
# The insights' queries are judged in their "(all)" form: a DJ's mixes
# spread over the whole key range, and `has` keeps their set.
unserved = {"retention (all)": "download only"}
worst = 0
for name, r in q["queries"].items():
    served = name not in unserved
    if served:
        worst = max(worst, r["p95_ms"])
    note = "" if served else f"   ({unserved[name]})"
    print(f"  {name:28s} p50 {r['p50_ms']:7.1f} ms   p95 {r['p95_ms']:7.1f} ms{note}")
print(f"worst p95 of the API and dashboard queries: {worst:.1f} ms (goal < 100 ms)")
with open(sys.argv[4], "w") as f:
    json.dump({"ingest_beats_per_s": {"ours": ours, "direct": direct, "median_ours": mo, "median_direct": md, "ratio": mo / md},
               "queries": q, "worst_served_p95_ms": worst}, f, indent=2)
PY
bench_result "$WORK" "bench/analytics.sh $RUNS $SECS $ROWS"
