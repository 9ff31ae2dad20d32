#!/usr/bin/env bash
# The catalogue at size: CLOUDCASTS cloudcasts of USERS users generated in
# PostgreSQL, then p50/p95 of search (one word, two words, a typo, a
# prefix), a user's list, a tag page and the charts through the API, each
# against the same SQL run directly in psql, in one run.
#
#   bench/catalogue.sh [CLOUDCASTS] [USERS] [REQUESTS]   (defaults: 1000000 100000 200)
#
# Needs the services (infra/dev services); runs beside a system started by
# infra/dev up (its own database, folders and port). Results also go to
# var/bench/catalogue/result.json. The generated catalogue is kept for the
# next run of the same size (bench_catalogue in bench/lib.sh; FRESH=1 makes
# it again).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
CLOUDCASTS="${1:-1000000}"
USERS="${2:-100000}"
REQUESTS="${3:-200}"
WORK="$ROOT/var/bench/catalogue"
PORT=8943
rm -rf "$WORK"
mkdir -p "$WORK"

eval "$(infra/dev services)"
cargo build --release --bin cloudcast -q

# The charts and related mixes are generated with the catalogue
# (bench/catalogue_data.sql); no analytics node runs
# (`--role api`), which would compute them again from an empty ClickHouse.
# One client address sends every request here: lift the anonymous read limit.
export CLOUDCAST__LIMITS__ANONYMOUS_READS_PER_MINUTE_PER_ADDRESS=1000000000
bench_catalogue "$WORK" "$CLOUDCASTS" "$USERS"

target/release/cloudcast serve --role api --listen "127.0.0.1:$PORT" >> "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 150); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

echo "$(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "$CLOUDCASTS cloudcasts, $USERS users, $REQUESTS requests per route (milliseconds)"
python3 bench/catalogue_measure.py "http://127.0.0.1:$PORT" "$CLOUDCAST__POSTGRES__URL" \
  "$REQUESTS" "$USERS" "$WORK/figures.json"
bench_result "$WORK" "bench/catalogue.sh $CLOUDCASTS $USERS $REQUESTS"
