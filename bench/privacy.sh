#!/usr/bin/env bash
# Privacy rights at scale, in one run, over a ClickHouse holding CROWD
# heartbeats of 100k other listeners plus HEAVY heartbeats of the measured
# user (default 360k: 100 hours of listening):
#  1. Export: POST /api/v1/me/exports, poll until ready, download the zip
#     (account JSON + Parquet of every table, built in the background),
#     against a direct ClickHouse dump of the same user's heartbeats
#     (`SELECT .. WHERE user_id = .. FORMAT TSV` over HTTP). Ratio = ours / direct.
#  2. Erasure: DELETE /api/v1/me until ClickHouse holds no row of the user in
#     any table, against the same done by hand for an identical user (same
#     rows under another id): `ALTER TABLE .. DELETE` on each table holding
#     rows, waited for in system.mutations, repeated until none is left.
#     Ratio = ours / direct.
#
#   bench/privacy.sh [RUNS=3] [CROWD=20000000] [HEAVY=360000]
#
# Needs the services (infra/dev services); makes var/venv (infra/dev venv).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
RUNS="${1:-3}"
CROWD="${2:-20000000}"
HEAVY="${3:-360000}"
WORK="$ROOT/var/bench/privacy"
PORT=8942
DB=cloudcast_bench_priv
rm -rf "$WORK" && mkdir -p "$WORK"

eval "$(infra/dev services)"
# pyarrow reads the exported Parquet back.
infra/dev venv
PY="$ROOT/var/venv/bin/python3"
cargo build --release --bin cloudcast -q
CH="$CLOUDCAST__CLICKHOUSE__URL"
chq() { curl -sfS "$CH/?database=$DB" --data-binary "$1"; }

psql -q "$CLOUDCAST_TEST_POSTGRES_ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
curl -sfS "$CH/" --data-binary "DROP DATABASE IF EXISTS $DB"
export CLOUDCAST__POSTGRES__URL="${CLOUDCAST__POSTGRES__URL%/*}/$DB"
export CLOUDCAST__CLICKHOUSE__DATABASE=$DB
export CLOUDCAST__S3__EMBEDDED_ROOT="$WORK/s3"
export CLOUDCAST__S3__BUCKET=bench
export CLOUDCAST__ANALYTICS__WAL_DIR="$WORK/wal" CLOUDCAST__TRANSCODE__WORK_DIR="$WORK/work"
# Every export of this user is a background one.
export CLOUDCAST__PRIVACY__EXPORT_INLINE_BEATS=0
B="http://127.0.0.1:$PORT"
target/release/cloudcast serve --listen "127.0.0.1:$PORT" >> "$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 150); do curl -sf "$B/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$B/healthz" >/dev/null || { echo "server did not start; see $WORK/server.log" >&2; exit 1; }

echo "generating $CROWD heartbeats of other listeners..." >&2
chq "INSERT INTO heartbeats (ts, cloudcast_id, tags, session_id, seq, position_ms,
  listener_id, user_id, referrer_domain, browser, os, device, is_bot, ads_consent)
SELECT toDateTime('2026-10-01 00:00:00') + (s % 30) * 86400 + (s % 1000) * 60 + (number % 600),
       concat('cc-', toString(s % 200)), [concat('tag', toString(s % 40)), 'house'],
       concat('s', toString(s)), toUInt32(number % 600), (number % 600) * 1000,
       concat('u:', toString(s % 100000)), toString(s % 100000),
       'google.com', 'Firefox', 'Linux', 'desktop', 0, toUInt8(s % 2)
FROM (SELECT number, intDiv(number, 600) AS s FROM system.numbers LIMIT $CROWD)"

# HEAVY beats for user $1: 600-beat sessions every 30 minutes.
heavy() {
  chq "INSERT INTO heartbeats (ts, cloudcast_id, tags, session_id, seq, position_ms,
    listener_id, user_id, referrer_domain, browser, os, device, is_bot, ads_consent)
  SELECT toDateTime('2026-10-01 00:00:00') + intDiv(number, 600) * 1800 + (number % 600),
         concat('cc-', toString(intDiv(number, 600) % 200)), ['tag1', 'house'],
         concat('h-$1-', toString(intDiv(number, 600))), toUInt32(number % 600),
         (number % 600) * 1000, 'u:$1', '$1', 'google.com', 'Firefox', 'Linux', 'desktop', 0, 1
  FROM system.numbers LIMIT $HEAVY"
}
# Rows naming user $1 in every table that has a user id.
left_of() {
  local n=0 t
  for t in heartbeats listener_days listener_day_totals listen_sessions ad_interest favourite_events; do
    n=$((n + $(chq "SELECT count() FROM $t WHERE user_id = '$1'")))
  done
  echo "$n"
}
account() {
  bench_user "$B" "$1" "bench password"
}
now() { date +%s.%N; }

ex_ours=(); ex_direct=(); er_ours=(); er_direct=()
for run in $(seq "$RUNS"); do
  TOKEN=$(account "bench$run")
  UID_=$(curl -sf "$B/api/v1/me" -H "authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  TWIN="twin-$run-$UID_"
  heavy "$UID_"
  heavy "$TWIN"

  # 1. Export.
  t0=$(now)
  STATUS_URL=$(curl -sf -X POST "$B/api/v1/me/exports" -H "authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status_url"])')
  for _ in $(seq 3000); do
    STATE=$(curl -s "$B$STATUS_URL" -H "authorization: Bearer $TOKEN" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [[ "$STATE" == building ]] || break
    sleep 0.1
  done
  [[ "$STATE" == ready ]] || { echo "export is $STATE; see $WORK/server.log" >&2; exit 1; }
  curl -sf "$B$STATUS_URL/archive" -H "authorization: Bearer $TOKEN" -o "$WORK/export.zip"
  t1=$(now)
  rows=$("$PY" - "$WORK/export.zip" <<'PY'
import io, os, sys, zipfile
import pyarrow.parquet as pq
z = zipfile.ZipFile(sys.argv[1])
print(pq.read_table(io.BytesIO(z.read("heartbeats.parquet"))).num_rows, flush=True)
# This pyarrow build can abort in its thread pool at interpreter exit.
os._exit(0)
PY
)
  [[ "$rows" == "$HEAVY" ]] || { echo "the export holds $rows of $HEAVY heartbeats" >&2; exit 1; }
  ex_ours+=("$(python3 -c "print($t1 - $t0)")")
  t0=$(now)
  chq "SELECT ts, cloudcast_id, session_id, seq, position_ms, rendition, referrer_domain,
         ip_prefix, ip_hash, browser, browser_major, os, device, is_bot, ads_consent
       FROM heartbeats WHERE user_id = '$UID_' ORDER BY ts, session_id, seq FORMAT TSV" > "$WORK/direct.tsv"
  t1=$(now)
  ex_direct+=("$(python3 -c "print($t1 - $t0)")")
  echo "run $run: export ours ${ex_ours[-1]} s ($(stat -c %s "$WORK/export.zip") bytes), direct ${ex_direct[-1]} s ($(stat -c %s "$WORK/direct.tsv") bytes TSV)" >&2

  # 2. Erasure (then the same mutations by hand for the twin).
  t0=$(now)
  curl -sf -X DELETE "$B/api/v1/me" -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d '{"password":"bench password"}' >/dev/null
  for _ in $(seq 6000); do
    [[ "$(left_of "$UID_")" == 0 ]] && break
    sleep 0.1
  done
  t1=$(now)
  [[ "$(left_of "$UID_")" == 0 ]] || { echo "rows of the erased user are left" >&2; exit 1; }
  er_ours+=("$(python3 -c "print($t1 - $t0)")")
  # By hand: a mutation on each table still holding rows, wait for them,
  # again until none is left (the minute rollup can re-add day totals read
  # before listener_days was cleaned).
  t0=$(now)
  for _ in 1 2 3; do
    [[ "$(left_of "$TWIN")" == 0 ]] && break
    for t in heartbeats listener_days listener_day_totals listen_sessions ad_interest favourite_events; do
      [[ "$(chq "SELECT count() FROM $t WHERE user_id = '$TWIN'")" == 0 ]] || chq "ALTER TABLE $t DELETE WHERE user_id = '$TWIN'"
    done
    for _ in $(seq 6000); do
      [[ "$(chq "SELECT count() FROM system.mutations WHERE database = '$DB' AND is_done = 0")" == 0 ]] && break
      sleep 0.1
    done
  done
  t1=$(now)
  [[ "$(left_of "$TWIN")" == 0 ]] || { echo "rows of the twin are left" >&2; exit 1; }
  er_direct+=("$(python3 -c "print($t1 - $t0)")")
  echo "run $run: erasure ours ${er_ours[-1]} s, direct ${er_direct[-1]} s" >&2
done

python3 - "${ex_ours[*]}" "${ex_direct[*]}" "${er_ours[*]}" "${er_direct[*]}" "$CROWD" "$HEAVY" "$WORK/figures.json" <<'PY'
import json, statistics, sys
eo, ed, ro, rd = ([float(x) for x in a.split()] for a in sys.argv[1:5])
crowd, heavy = sys.argv[5], sys.argv[6]
m = statistics.median
print(f"privacy over {int(crowd):,} other beats, one user with {int(heavy):,} (medians of {len(eo)} runs)")
print(f"export  (zip: JSON + Parquet, background, downloaded): ours {m(eo):.2f} s, direct TSV dump {m(ed):.2f} s, ratio {m(eo) / m(ed):.2f}")
print(f"erasure (every store, until ClickHouse holds no row): ours {m(ro):.2f} s, direct mutations {m(rd):.2f} s, ratio {m(ro) / m(rd):.2f}")
with open(sys.argv[7], "w") as f:
    json.dump({"crowd_beats": int(crowd), "heavy_user_beats": int(heavy),
               "export_s": {"ours": eo, "direct": ed, "ratio": m(eo) / m(ed)},
               "erasure_s": {"ours": ro, "direct": rd, "ratio": m(ro) / m(rd)}}, f, indent=2)
PY
bench_result "$WORK" "bench/privacy.sh $RUNS $CROWD $HEAVY"
