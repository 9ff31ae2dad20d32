#!/usr/bin/env bash
# Pictures: a 6000 x 6000 PNG cover set through the API (decoded, cropped
# square, made again as 600, 300 and 100 px JPEGs by pictures/src/lib.rs,
# stored in S3) against ffmpeg doing the same job on the same file (decode,
# crop, three Lanczos scales, three JPEGs), alternating, in one run. Reports
# the median wall time of each and their ratio.
#
#   bench/pictures.sh [RUNS]      (default 5)
#
# Needs the services (infra/dev services); runs the release build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
RUNS="${1:-5}"
WORK="$ROOT/var/bench/pictures"
HTTP_PORT=8921
rm -rf "$WORK" && mkdir -p "$WORK"

eval "$(infra/dev services)"
cargo build --release --bin cloudcast -q

psql -q "$CLOUDCAST_TEST_POSTGRES_ADMIN_URL" -c "DROP DATABASE IF EXISTS cloudcast_bench_pic WITH (FORCE)" -c "CREATE DATABASE cloudcast_bench_pic"
export CLOUDCAST__POSTGRES__URL="${CLOUDCAST__POSTGRES__URL%/*}/cloudcast_bench_pic"
export CLOUDCAST__CLICKHOUSE__DATABASE=cloudcast_bench_pic
export CLOUDCAST__ANALYTICS__WAL_DIR="$WORK/wal" CLOUDCAST__TRANSCODE__WORK_DIR="$WORK/work"
export CLOUDCAST__S3__EMBEDDED_ROOT="$WORK/s3"
export CLOUDCAST__LIMITS__PICTURES_PER_HOUR_PER_ACCOUNT=1000
target/release/cloudcast serve --listen "127.0.0.1:$HTTP_PORT" > "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
B="http://127.0.0.1:$HTTP_PORT"
for _ in $(seq 120); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.5; done
bench_mix "$WORK" "$B" 5 128

# A camera-sized cover: ffmpeg's test pattern at 6000 x 6000 (a few MB of PNG).
ffmpeg -v error -f lavfi -i "testsrc2=size=6000x6000:rate=1" -frames:v 1 -y "$WORK/cover.png"
bytes=$(stat -c %s "$WORK/cover.png")

ours=(); peer=()
for run in $(seq "$RUNS"); do
  start=$(date +%s.%N)
  status=$(curl -s -o "$WORK/put.json" -w '%{http_code}' -X PUT "$B/api/v1/cloudcasts/$ID/picture" \
    -H "Authorization: Bearer $TOKEN" -H 'content-type: image/png' --data-binary @"$WORK/cover.png")
  end=$(date +%s.%N)
  [[ "$status" == 200 ]] || { echo "run $run: the API answered $status: $(cat "$WORK/put.json")" >&2; exit 1; }
  ours+=("$(python3 -c "print($end - $start)")")
  start=$(date +%s.%N)
  ffmpeg -v error -y -i "$WORK/cover.png" -filter_complex \
    "crop=min(iw\,ih):min(iw\,ih),split=3[a][b][c];[a]scale=600:600:flags=lanczos[o1];[b]scale=300:300:flags=lanczos[o2];[c]scale=100:100:flags=lanczos[o3]" \
    -map '[o1]' -q:v 3 "$WORK/o600.jpg" -map '[o2]' -q:v 3 "$WORK/o300.jpg" -map '[o3]' -q:v 3 "$WORK/o100.jpg"
  end=$(date +%s.%N)
  peer+=("$(python3 -c "print($end - $start)")")
done

python3 - "$WORK" "$bytes" "${ours[*]}" "${peer[*]}" <<'PY'
import json, statistics, sys
work, size, ours, peer = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4].split()
mo, mp = statistics.median(map(float, ours)), statistics.median(map(float, peer))
print(f"6000 x 6000 PNG ({size / 1e6:.1f} MB) made into 600/300/100 px JPEGs: "
      f"API median {mo:.2f} s, ffmpeg median {mp:.2f} s; ratio (ffmpeg / ours) {mp / mo:.2f}")
with open(f"{work}/figures.json", "w") as f:
    json.dump({"png_bytes": size, "api_secs": sorted(map(float, ours)), "ffmpeg_secs": sorted(map(float, peer)),
               "api_median_secs": round(mo, 3), "ffmpeg_median_secs": round(mp, 3), "ratio": round(mp / mo, 2)}, f)
PY
bench_result "$WORK" "bench/pictures.sh $RUNS"
