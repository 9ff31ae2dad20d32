#!/usr/bin/env bash
# Stream delivery and heartbeat intake, side by side with nginx, in one run:
#
#  1. Cache-hot 96 KiB byte ranges of one rendition: our stream server (bytes
#     from its chunk cache) vs nginx serving the same file from disk
#     (sendfile, page cache). wrk, same random ranges, alternating runs.
#  2. The cold path: a fresh server process, ranges of chunks never read
#     before (each one is a ranged GET to S3), vs the same ranges once cached.
#  3. Heartbeat intake: POST /api/v1/heartbeats (validated, enriched, queued
#     for ClickHouse, 202) vs nginx answering 204 to the same POST.
#
#   bench/stream.sh [RUNS] [SECONDS]      (defaults: 3 runs of 10 s each)
#
# Needs the services (infra/dev services); installs wrk and nginx-light.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
RUNS="${1:-3}"
SECS="${2:-10}"
WORK="$ROOT/var/bench/stream"
PORT=8931
NGINX_PORT=8932
RANGE=98304
# Ranges on 16 connections (a cache node's players, as before); heartbeats on
# 256 (many listeners, each a connection of its own).
CONNS=16
BEAT_CONNS=256
rm -rf "$WORK" && mkdir -p "$WORK/www"

bench_tools wrk nginx-light
eval "$(infra/dev services)"
cargo build --release --bin cloudcast -q

psql -q "$CLOUDCAST_TEST_POSTGRES_ADMIN_URL" -c "DROP DATABASE IF EXISTS cloudcast_bench WITH (FORCE)" -c "CREATE DATABASE cloudcast_bench"
export CLOUDCAST__POSTGRES__URL="${CLOUDCAST__POSTGRES__URL%/*}/cloudcast_bench"
export CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast_bench
export CLOUDCAST__S3__EMBEDDED_ROOT="$WORK/s3"
export CLOUDCAST__S3__BUCKET=bench
# Folders of its own: the bench runs beside a system started by infra/dev up.
export CLOUDCAST__ANALYTICS__WAL_DIR="$WORK/wal" CLOUDCAST__TRANSCODE__WORK_DIR="$WORK/work"
# One client address sends everything here: lift the per-IP intake limit.
export CLOUDCAST__STREAM__INTAKE_PER_IP_PER_SEC=1000000 CLOUDCAST__STREAM__INTAKE_BURST=1000000
B="http://127.0.0.1:$PORT"
SERVER=""
NGINX=""
cleanup() { kill $SERVER 2>/dev/null || true; [[ -z "$NGINX" ]] || kill "$NGINX" 2>/dev/null || true; }
trap cleanup EXIT
# start_server [--role ROLE]...
start_server() {
  target/release/cloudcast serve --listen "127.0.0.1:$PORT" "$@" >> "$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 150); do curl -sf "$B/healthz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "server did not start; see $WORK/server.log" >&2; exit 1
}
start_server

# A 30-minute mix, transcoded by the server itself.
bench_mix "$WORK" "$B" 1800 192
# A stream URL is signed for its listener (address and user agent): every
# request for it, wrk's included, names the same browser.
UA="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
STREAM_URL=$(curl -sf -A "$UA" "$B/api/v1/cloudcasts/$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["stream_url"])')
MEDIA_PATH=$(python3 -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(p.path.rsplit("/",1)[0] + "/aac_192k.mp4?" + p.query)' "$STREAM_URL")
curl -sf -A "$UA" "$B$MEDIA_PATH" -o "$WORK/www/mix.mp4"
SIZE=$(stat -c %s "$WORK/www/mix.mp4")
# Measure a stream node as production runs it: its own process, no worker.
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
start_server --role stream

{ bench_nginx_head "$WORK"; cat <<EOF; } >"$WORK/nginx.conf"
http {
  access_log off;
  sendfile on;
  # tcp_nopush (TCP_CORK) stalls keep-alive range responses ~40 ms on loopback.
  tcp_nopush off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx-body;
  proxy_temp_path $WORK/nginx-proxy;
  fastcgi_temp_path $WORK/nginx-fastcgi;
  uwsgi_temp_path $WORK/nginx-uwsgi;
  scgi_temp_path $WORK/nginx-scgi;
  types { audio/mp4 mp4; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    location = /beat { return 204; }
  }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/mix.mp4" && break; sleep 0.1; done

# The same pseudo-random 96 KiB ranges for both servers.
cat > "$WORK/ranges.lua" <<EOF
math.randomseed(42)
local size, len = $SIZE, $RANGE
request = function()
  local first = math.random(0, size - len)
  return wrk.format("GET", nil, { Range = "bytes=" .. first .. "-" .. (first + len - 1), ["User-Agent"] = "$UA" })
end
EOF
BEAT="{\"cloudcast_id\":\"$ID\",\"session_id\":\"bench\",\"seq\":1,\"position_ms\":60000}"
cat > "$WORK/beat.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BEAT'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
EOF

# Warm our chunk cache with one full read, then check both serve identical bytes.
curl -sf -A "$UA" "$B$MEDIA_PATH" -o /dev/null
cmp <(curl -sf -A "$UA" -H 'Range: bytes=1000-99999' "$B$MEDIA_PATH") \
    <(curl -sf -H 'Range: bytes=1000-99999' "http://127.0.0.1:$NGINX_PORT/mix.mp4")

# wrk -> "req_per_s p50_ms p99_ms non2xx"
# run_wrk SCRIPT URL [CONNECTIONS]
run_wrk() {
  wrk -t1 -c"${3:-$CONNS}" -d"${SECS}s" --latency -s "$1" "$2" | python3 -c '
import re, sys
t = sys.stdin.read()
def ms(v, unit): return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p = {k: ms(v, u) for k, v, u in re.findall(r"\s(50|99)%\s+([\d.]+)(us|ms|s)", t)}
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(rps, p["50"], p["99"], bad.group(1) if bad else 0)'
}

# Ranges first: the beat runs leave ClickHouse inserting and merging on the
# same cores for a while, which would tax whichever range run came next.
hot_ours=(); hot_nginx=(); beat_ours=(); beat_nginx=()
for run in $(seq "$RUNS"); do
  hot_ours+=("$(run_wrk "$WORK/ranges.lua" "$B$MEDIA_PATH")")
  hot_nginx+=("$(run_wrk "$WORK/ranges.lua" "http://127.0.0.1:$NGINX_PORT/mix.mp4")")
  echo "run $run: ranges ours ${hot_ours[-1]} | nginx ${hot_nginx[-1]}" >&2
done
RSS_KIB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
for run in $(seq "$RUNS"); do
  beat_ours+=("$(run_wrk "$WORK/beat.lua" "$B/api/v1/heartbeats" "$BEAT_CONNS")")
  beat_nginx+=("$(run_wrk "$WORK/beat.lua" "http://127.0.0.1:$NGINX_PORT/beat" "$BEAT_CONNS")")
  echo "run $run: beats ours ${beat_ours[-1]} | nginx ${beat_nginx[-1]}" >&2
done

# Cold path: a fresh process (empty cache), 60 ranges each in a chunk never
# read before, one at a time; then the same 60 ranges again, now cached.
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
start_server --role stream
CHUNK=262144
cold=(); warm=()
OFFSETS=$(python3 -c "
import random; random.seed(7)
chunks = random.sample(range($SIZE // $CHUNK - 1), 60)
print(' '.join(str(c * $CHUNK + 1000) for c in chunks))")
for pass in cold warm; do
  for off in $OFFSETS; do
    t=$(curl -sf -A "$UA" -o /dev/null -w '%{time_total}' -H "Range: bytes=$off-$((off + RANGE - 1))" "$B$MEDIA_PATH")
    if [[ $pass == cold ]]; then cold+=("$t"); else warm+=("$t"); fi
  done
done
FETCHES=$(curl -sf "$B/metrics" | awk '/^cloudcast_stream_s3_fetches_total/ {print $2}')

python3 - "$SIZE" "$RSS_KIB" "$FETCHES" "${hot_ours[*]}" "${hot_nginx[*]}" "${beat_ours[*]}" "${beat_nginx[*]}" "${cold[*]}" "${warm[*]}" "$WORK/figures.json" <<'PY'
import json, statistics as st, sys
size, rss, fetches = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def runs(arg):  # "rps p50 p99 bad rps p50 p99 bad ..." -> one list per run
    xs = [float(x) for x in arg.split()]
    return [xs[i:i + 4] for i in range(0, len(xs), 4)]
def med(rs, i): return st.median(r[i] for r in rs)
ho, hn, bo, bn = (runs(a) for a in sys.argv[4:8])
cold = [float(x) * 1000 for x in sys.argv[8].split()]
warm = [float(x) * 1000 for x in sys.argv[9].split()]
q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]
print(f"rendition: {size} bytes; ranges of 96 KiB; {len(ho)} runs each")
for name, o, n in (("cache-hot ranges", ho, hn), ("heartbeat intake", bo, bn)):
    print(f"{name}: ours {med(o,0):.0f} req/s (p50 {med(o,1):.2f} ms, p99 {med(o,2):.2f} ms, non-2xx {sum(r[3] for r in o):.0f})"
          f" | nginx {med(n,0):.0f} req/s (p50 {med(n,1):.2f} ms, p99 {med(n,2):.2f} ms)"
          f" | ratio {med(o,0) / med(n,0):.2f}")
    print(f"  runs ours: {', '.join(f'{r[0]:.0f}' for r in o)}; nginx: {', '.join(f'{r[0]:.0f}' for r in n)}")
    if sum(r[3] for r in o):
        sys.exit(f"{name}: our server refused requests; the ratio would mean nothing")
print(f"cold path (cache miss -> S3 ranged GET), {len(cold)} ranges: p50 {q(cold,.5):.2f} ms, p99 {q(cold,.99):.2f} ms;"
      f" same ranges cached: p50 {q(warm,.5):.2f} ms, p99 {q(warm,.99):.2f} ms; S3 fetches {fetches}")
print(f"stream server peak RSS (VmHWM) after the hot runs: {rss / 1024:.1f} MiB")
keys = ("req_per_s", "p50_ms", "p99_ms", "non_2xx")
side = lambda rs: {"runs": [dict(zip(keys, r)) for r in rs], "median_req_per_s": med(rs, 0),
                   "median_p50_ms": med(rs, 1), "median_p99_ms": med(rs, 2)}
with open(sys.argv[10], "w") as f:
    json.dump({"rendition_bytes": size,
               "ranges": {"ours": side(ho), "nginx": side(hn), "ratio": med(ho, 0) / med(hn, 0),
                          "p99_ratio": med(ho, 2) / med(hn, 2)},
               "intake": {"ours": side(bo), "nginx": side(bn), "ratio": med(bo, 0) / med(bn, 0)},
               "cold_ms": {"p50": q(cold, .5), "p99": q(cold, .99)}, "warm_ms": {"p50": q(warm, .5), "p99": q(warm, .99)},
               "s3_fetches": fetches, "peak_rss_mib": rss / 1024}, f, indent=2)
PY
bench_result "$WORK" "bench/stream.sh $RUNS $SECS"
