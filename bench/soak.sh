#!/usr/bin/env bash
# The soak: mixed legitimate load (24 signed-in listeners playing, sending
# heartbeats, searching and commenting; 4 anonymous browsers reading pages;
# a DJ uploading a mix every two minutes) for one phase alone, then the same
# load for a second phase with attackers beside it: 300 slowloris sockets
# (part of a request head, then a header line every 10 s) and a flood client
# (4 keep-alive connections from one address reading the public API as fast
# as they can, and signing up). Reported: each kind of legitimate request's
# p50/p99 and errors in both phases and their ratio, what the attackers got
# (connections closed, 429s), and the node's RSS over time.
#
#   bench/soak.sh [PHASE_SECONDS]      (default 600: two ten-minute phases)
#
# The system runs with its default limits, behind a trusted proxy address
# (the legitimate users each come from an address of their own in
# X-Forwarded-For, as behind a load balancer). Needs the services
# (infra/dev services); beside a running system, as every bench.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
PHASE="${1:-600}"
WORK="$ROOT/var/bench/soak"
PORT=8941
rm -rf "$WORK" && mkdir -p "$WORK"

eval "$(infra/dev services)"
cargo build --release --bin cloudcast -q

psql -q "$CLOUDCAST_TEST_POSTGRES_ADMIN_URL" -c "DROP DATABASE IF EXISTS cloudcast_soak WITH (FORCE)" -c "CREATE DATABASE cloudcast_soak"
export CLOUDCAST__POSTGRES__URL="${CLOUDCAST__POSTGRES__URL%/*}/cloudcast_soak"
export CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast_soak
export CLOUDCAST__S3__EMBEDDED_ROOT="$WORK/s3"
export CLOUDCAST__S3__BUCKET=soak
export CLOUDCAST__ANALYTICS__WAL_DIR="$WORK/wal" CLOUDCAST__TRANSCODE__WORK_DIR="$WORK/work"
export CLOUDCAST__HTTP__TRUSTED_PROXIES='["127.0.0.1"]'
export CLOUDCAST__HTTP__WEB_DIR="$ROOT/web"
export CLOUDCAST__POLICIES__DIR="$ROOT/docs/policies"
B="http://127.0.0.1:$PORT"
target/release/cloudcast serve --listen "127.0.0.1:$PORT" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 150); do curl -sf "$B/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$B/healthz" >/dev/null || { echo "server did not start; see $WORK/server.log" >&2; exit 1; }

python3 bench/soak.py "$B" "$SERVER" "$PHASE" "$WORK"
bench_result "$WORK" "bench/soak.sh $PHASE"
