#!/usr/bin/env bash
# Upload throughput: a large file through our tus endpoint (the `cloudcast
# upload` client -> ingest -> S3 multipart) vs the aws CLI putting the same
# file straight into the same S3 endpoint, alternating, in one run. Reports
# the median throughput of each, their ratio, and the server's peak RSS.
#
#   bench/upload.sh [SIZE_MIB] [RUNS]      (defaults: 2048 MiB, 3 runs)
#
# Needs the services (infra/dev services) and installs awscli into var/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
SIZE_MIB="${1:-2048}"
RUNS="${2:-3}"
WORK="$ROOT/var/bench/upload"
S3_PORT=9917
HTTP_PORT=8917
rm -rf "$WORK" && mkdir -p "$WORK"

eval "$(infra/dev services)"
[[ -x var/bench/venv/bin/aws ]] || { python3 -m venv var/bench/venv && var/bench/venv/bin/pip install -q awscli; }
cargo build --release --bin cloudcast -q

psql -q "$CLOUDCAST_TEST_POSTGRES_ADMIN_URL" -c "DROP DATABASE IF EXISTS cloudcast_bench_up WITH (FORCE)" -c "CREATE DATABASE cloudcast_bench_up"
export CLOUDCAST__POSTGRES__URL="${CLOUDCAST__POSTGRES__URL%/*}/cloudcast_bench_up"
export CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast_bench_up
# Folders of its own: the bench runs beside a system started by infra/dev up.
export CLOUDCAST__ANALYTICS__WAL_DIR="$WORK/wal" CLOUDCAST__TRANSCODE__WORK_DIR="$WORK/work"
export CLOUDCAST__S3__EMBEDDED_ROOT="$WORK/s3"
export CLOUDCAST__S3__BUCKET=bench
export CLOUDCAST__UPLOADS__MAX_SIZE=$((SIZE_MIB * 1024 * 1024 + 1024))
# The S3 endpoint runs as its own process, shared by both uploaders, so the
# ingest server's peak RSS is its own.
target/release/cloudcast s3 --listen "127.0.0.1:$S3_PORT" > "$WORK/s3.log" 2>&1 &
S3PID=$!
export CLOUDCAST__S3__ENDPOINT="http://127.0.0.1:$S3_PORT"
# Ingest only: the finished upload's transcode job waits in the queue instead
# of competing for the CPU with the next run.
target/release/cloudcast serve --role ingest --listen "127.0.0.1:$HTTP_PORT" > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER $S3PID 2>/dev/null || true' EXIT
B="http://127.0.0.1:$HTTP_PORT"
for _ in $(seq 100); do curl -sf "$B/healthz" >/dev/null 2>&1 && break; sleep 0.2; done

TOKEN=$(bench_user "$B" bench "bench password")

# A WAV header in front of random bytes: passes the audio probe, does not compress.
FILE="$WORK/mix.wav"
python3 - "$FILE" "$SIZE_MIB" <<'PY'
import os, struct, sys
path, mib = sys.argv[1], int(sys.argv[2])
n = mib * 1024 * 1024 - 44
with open(path, "wb") as f:
    f.write(b"RIFF" + struct.pack("<I", 36 + n) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 2, 44100, 176400, 4, 16) + b"data" + struct.pack("<I", n))
    left = n
    while left:
        k = min(left, 64 << 20); f.write(os.urandom(k)); left -= k
PY

export AWS_ACCESS_KEY_ID=cloudcast AWS_SECRET_ACCESS_KEY=cloudcast-dev-secret AWS_DEFAULT_REGION=us-east-1
now() { date +%s.%N; }
ours=() ; theirs=()
for run in $(seq "$RUNS"); do
  t0=$(now)
  XDG_STATE_HOME="$WORK/state-$run" CLOUDCAST_TOKEN="$TOKEN" target/release/cloudcast upload "$FILE" \
    --server "$B" --title "bench $run" --chunk-mib 32 >/dev/null 2>&1
  t1=$(now)
  var/bench/venv/bin/aws --endpoint-url "http://127.0.0.1:$S3_PORT" s3 cp "$FILE" "s3://bench/direct/run-$run" --only-show-errors
  t2=$(now)
  ours+=("$(python3 -c "print($SIZE_MIB / ($t1 - $t0))")")
  theirs+=("$(python3 -c "print($SIZE_MIB / ($t2 - $t1))")")
  echo "run $run: tus ${ours[-1]} MiB/s, aws cli ${theirs[-1]} MiB/s" >&2
done
RSS_KIB=$(awk '/VmHWM/ {print $2}' "/proc/$SERVER/status")
python3 - "$SIZE_MIB" "$RSS_KIB" "${ours[*]}" "${theirs[*]}" "$WORK/figures.json" <<'PY'
import json, statistics, sys
size, rss = int(sys.argv[1]), int(sys.argv[2])
ours = [float(x) for x in sys.argv[3].split()]
theirs = [float(x) for x in sys.argv[4].split()]
o, t = statistics.median(ours), statistics.median(theirs)
print(f"file: {size} MiB, runs: {len(ours)}")
print(f"tus via cloudcast upload: median {o:.1f} MiB/s  (runs: {', '.join(f'{x:.1f}' for x in ours)})")
print(f"aws s3 cp direct to S3:   median {t:.1f} MiB/s  (runs: {', '.join(f'{x:.1f}' for x in theirs)})")
print(f"ratio tus / aws: {o / t:.2f}")
print(f"ingest server peak RSS (VmHWM): {rss / 1024:.1f} MiB")
with open(sys.argv[5], "w") as f:
    json.dump({"size_mib": size, "tus_mib_s": ours, "aws_mib_s": theirs, "median_tus": o, "median_aws": t,
               "ratio": o / t, "ingest_peak_rss_mib": rss / 1024}, f, indent=2)
PY
bench_result "$WORK" "bench/upload.sh $SIZE_MIB $RUNS"
