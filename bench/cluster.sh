#!/usr/bin/env bash
# Past one machine, in one run:
#  1. Heartbeats end to end through nginx (wrk posting batches of 100 beats,
#     each request a new session; the clock stops when the last accepted beat
#     is counted in the ClickHouse cluster), with one stream node behind
#     nginx against two. Each node is pinned to its own core (taskset), so
#     two nodes have two cores' worth of CPU; ClickHouse, nginx and wrk share
#     those same two cores, which is what one machine cannot avoid.
#     Scaling factor = two nodes / one node.
#  2. p50/p95 of every dashboard query (bench/analytics_queries.py) over ROWS
#     generated heartbeats on the 2-shard x 2-replica cluster against the
#     single server. Ratio = cluster / one server.
#
#   bench/cluster.sh [RUNS=3] [SECS=15] [ROWS=50000000]
#
# Needs nothing running; starts the services and the ClickHouse cluster
# (infra/dev), installs wrk.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
RUNS="${1:-3}"
SECS="${2:-15}"
ROWS="${3:-50000000}"
WORK="$ROOT/var/bench/cluster"
LB=8960 N1=8961 N2=8962 S3P=8963
CONNS=16
rm -rf "$WORK" && mkdir -p "$WORK"

bench_tools wrk
eval "$(infra/dev services)"
eval "$(infra/dev clickhouse-cluster)"
CLUSTER_CH="$CLOUDCAST_TEST_CLICKHOUSE_CLUSTER_URL"
cargo build --release --bin cloudcast -q
BIN="$ROOT/target/release/cloudcast"
DB=cloudcast_bench_cl
chq() { curl -sfS "$1/?database=$2" --data-binary "$3"; }

psql -q "$CLOUDCAST_TEST_POSTGRES_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
for db in $DB cloudcast_bench_q; do
  curl -sfS "$CLUSTER_CH/" --data-binary "DROP DATABASE IF EXISTS $db ON CLUSTER cloudcast" >/dev/null
done
curl -sfS "$CLOUDCAST__CLICKHOUSE__URL/" --data-binary "DROP DATABASE IF EXISTS cloudcast_bench_q"
export CLOUDCAST__POSTGRES__URL="${CLOUDCAST__POSTGRES__URL%/*}/$DB"
export CLOUDCAST__CLICKHOUSE__URL="$CLUSTER_CH" CLOUDCAST__CLICKHOUSE__CLUSTER=cloudcast
export CLOUDCAST__CLICKHOUSE__DATABASE=$DB
export CLOUDCAST__S3__ENDPOINT="http://127.0.0.1:$S3P" CLOUDCAST__S3__BUCKET=bench
export CLOUDCAST__HTTP__TRUSTED_PROXIES='["127.0.0.1"]'
# One client address sends everything here: lift the per-IP intake limit.
export CLOUDCAST__STREAM__INTAKE_PER_IP_PER_SEC=1000000 CLOUDCAST__STREAM__INTAKE_BURST=1000000
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ -f "$WORK/nginx.pid" ]] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
}
trap cleanup EXIT
wait_http() {
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "nothing healthy on :$1 (see $WORK/*.log)" >&2; exit 1
}
# node NAME PORT CORE ROLE: a node of its own folder, pinned to CORE.
node() {
  mkdir -p "$WORK/$1"
  (cd "$WORK/$1" && CLOUDCAST__ANALYTICS__WAL_DIR="$WORK/$1/wal" CLOUDCAST__TRANSCODE__WORK_DIR="$WORK/$1/work" \
    exec taskset -c "$3" "$BIN" serve --role "$4" --listen "127.0.0.1:$2") >>"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  wait_http "$2"
}
# lb PORT...: nginx in front of these nodes, as infra/cluster.sh writes it.
lb() {
  local servers="" p
  for p in "$@"; do servers+="server 127.0.0.1:$p; "; done
  cat >"$WORK/nginx.conf" <<EOF
$([[ $(id -u) -eq 0 ]] && echo "user root;")
worker_processes 1; pid $WORK/nginx.pid; error_log $WORK/nginx.log warn;
events { worker_connections 1024; }
http { access_log off; client_max_body_size 0;
  client_body_temp_path $WORK/body; proxy_temp_path $WORK/proxy;
  fastcgi_temp_path $WORK/fcgi; uwsgi_temp_path $WORK/uwsgi; scgi_temp_path $WORK/scgi;
  upstream app { $servers keepalive 32; }
  server { listen 127.0.0.1:$LB;
    proxy_http_version 1.1; proxy_set_header Connection "";
    proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    location / { proxy_pass http://app; } } }
EOF
  if [[ -f "$WORK/nginx.pid" ]] && kill -0 "$(cat "$WORK/nginx.pid")" 2>/dev/null; then
    nginx -c "$WORK/nginx.conf" -s reload; sleep 1
  else
    nginx -c "$WORK/nginx.conf"
  fi
}

CLOUDCAST__S3__EMBEDDED_ROOT="$WORK/s3" "$BIN" s3 --listen "127.0.0.1:$S3P" >>"$WORK/s3.log" 2>&1 &
PIDS+=($!)
sleep 1
# The mix: uploaded and transcoded by an all-role node, which then goes.
node setup "$N1" 0-1 all
B="http://127.0.0.1:$N1"
BENCH_BIN="$BIN" bench_mix "$WORK" "$B" 600 128
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true; unset 'PIDS[-1]'

# Stream nodes as production runs them, each on its own core.
node n1 "$N1" 0 stream
node n2 "$N2" 1 stream

beats_lua "$ID" "$WORK/beats.lua"

count() { chq "$CLUSTER_CH" "$DB" "SELECT count() FROM heartbeats"; }
# measure: beats/s from wrk's first request to the last accepted beat in ClickHouse.
measure() {
  local before start out non2xx reqs accepted target now landed
  before=$(count)
  start=$(date +%s.%N)
  out=$(wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$WORK/beats.lua" "http://127.0.0.1:$LB/api/v1/heartbeats")
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  accepted=$(( (reqs - ${non2xx:-0}) * 100 ))
  target=$((before + accepted))
  for _ in $(seq 2400); do
    now=$(count)
    (( now >= target )) && break
    sleep 0.05
  done
  landed=$(date +%s.%N)
  (( now >= target )) || { echo "only $((now - before)) of $accepted beats arrived" >&2; exit 1; }
  python3 -c "print(round($accepted / ($landed - $start)))"
}
one=(); two=()
for run in $(seq "$RUNS"); do
  lb "$N1"; one+=("$(measure)")
  lb "$N1" "$N2"; two+=("$(measure)")
  echo "run $run: one node ${one[-1]} beats/s, two nodes ${two[-1]} beats/s" >&2
done

# 2. The dashboard's queries over ROWS beats: one server, then the cluster.
echo "generating $ROWS heartbeats on one server, then on the cluster..." >&2
SINGLE_CH=http://127.0.0.1:8123
curl -sfS "$SINGLE_CH/" --data-binary "CREATE DATABASE cloudcast_bench_q"
CLOUDCAST__CLICKHOUSE__URL=$SINGLE_CH CLOUDCAST__CLICKHOUSE__CLUSTER="" CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast_bench_q \
  "$BIN" migrate >/dev/null
Q1=$(CLOUDCAST__CLICKHOUSE__CLUSTER="" python3 bench/analytics_queries.py "$SINGLE_CH" cloudcast_bench_q "$ROWS" 20)
CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast_bench_q "$BIN" migrate >/dev/null
Q2=$(python3 bench/analytics_queries.py "$CLUSTER_CH" cloudcast_bench_q "$ROWS" 20)

python3 - "${one[*]}" "${two[*]}" "$Q1" "$Q2" "$WORK/figures.json" <<'PY'
import json, statistics, sys
one = [int(x) for x in sys.argv[1].split()]
two = [int(x) for x in sys.argv[2].split()]
q1, q2 = json.loads(sys.argv[3]), json.loads(sys.argv[4])
m1, m2 = statistics.median(one), statistics.median(two)
print(f"heartbeats through nginx: one node median {m1:.0f} beats/s, two nodes median {m2:.0f} beats/s; scaling {m2 / m1:.2f}")
print(f"  runs one {one}, two {two}")
print(f"dashboard queries over {q1['rows']:,} beats: one server (generated {q1['generate_secs']} s) vs 2 shards x 2 replicas (generated {q2['generate_secs']} s)")
for name, r in q1["queries"].items():
    c = q2["queries"][name]
    print(f"  {name:28s} p95 one {r['p95_ms']:7.1f} ms   cluster {c['p95_ms']:7.1f} ms   ratio {c['p95_ms'] / max(r['p95_ms'], 0.1):5.2f}")
with open(sys.argv[5], "w") as f:
    json.dump({"beats_per_s": {"one_node": one, "two_nodes": two, "scaling": m2 / m1},
               "queries_one_server": q1, "queries_cluster": q2}, f, indent=2)
PY
bench_result "$WORK" "bench/cluster.sh $RUNS $SECS $ROWS"
