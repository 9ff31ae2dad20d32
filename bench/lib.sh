# shellcheck shell=bash
# Sourced by the benches: the steps several of them share.

# bench_user BASE_URL NAME PASSWORD: signs NAME up (NAME@example.org), opens
# the link mailed to it (read from the outbox in $CLOUDCAST__POSTGRES__URL),
# which confirms it and signs it in, and prints the session's token.
bench_user() {
  local base="$1" name="$2" password="$3" link terms
  # The terms in force, which a sign-up accepts (none: none are asked for).
  terms=$(curl -sf "$base/api/v1/policies/terms" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' 2>/dev/null || true)
  curl -sf "$base/api/v1/accounts" -H 'content-type: application/json' \
    -d "{\"email\":\"$name@example.org\",\"username\":\"$name\",\"password\":\"$password\",\"birth_date\":\"1990-01-01\"${terms:+,\"terms\":\"$terms\"}}" >/dev/null
  link=$(psql -tA "$CLOUDCAST__POSTGRES__URL" \
    -c "SELECT body FROM email_outbox WHERE to_address = '$name@example.org' ORDER BY created_at DESC LIMIT 1" |
    grep -o 'token=[A-Za-z0-9_-]*' | head -1)
  curl -sf "$base/api/v1/accounts/confirm" -H 'content-type: application/json' \
    -d "{\"token\":\"${link#token=}\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# bench_mix WORK BASE_URL SECONDS KBPS: a pink-noise mix of SECONDS at KBPS,
# uploaded by a new `bench` user through the command-line uploader and
# transcoded by the server at BASE_URL; sets ID (the cloudcast) and TOKEN.
bench_mix() {
  local work="$1" base="$2" seconds="$3" kbps="$4" status
  gst-launch-1.0 -q audiotestsrc wave=pink-noise samplesperbuffer=4410 num-buffers=$((seconds * 10)) \
    ! audio/x-raw,rate=44100,channels=2 ! audioconvert ! lamemp3enc target=bitrate bitrate="$kbps" cbr=true \
    ! filesink location="$work/mix.mp3"
  TOKEN=$(bench_user "$base" bench "bench password")
  XDG_STATE_HOME="$work/state" CLOUDCAST_TOKEN="$TOKEN" "${BENCH_BIN:-target/release/cloudcast}" upload "$work/mix.mp3" \
    --server "$base" --title "bench mix" >/dev/null 2>&1
  ID=$(psql -tA "$CLOUDCAST__POSTGRES__URL" -c "SELECT id FROM cloudcasts LIMIT 1")
  for _ in $(seq 600); do
    status=$(curl -sf "$base/api/v1/cloudcasts/$ID" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [[ "$status" == processing ]] || break
    sleep 1
  done
  [[ "$status" == ready ]] || { echo "the mix is $status" >&2; exit 1; }
}

# beats_lua ID FILE: the wrk script posting batches of 100 beats of cloudcast
# ID, each request a new session's next 100 seconds (seq 0..99), as a
# player's batch after a network gap.
beats_lua() {
  sed "s/@ID@/$1/" >"$2" <<'EOF_LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
local n = 0
local thread_id = tostring(math.random(1, 1e9))
request = function()
  n = n + 1
  local beats = {}
  for i = 0, 99 do
    beats[#beats + 1] = string.format('{"cloudcast_id":"@ID@","session_id":"b%s-%d","seq":%d,"position_ms":%d}', thread_id, n, i, i * 1000)
  end
  return wrk.format(nil, nil, nil, "[" .. table.concat(beats, ",") .. "]")
end
EOF_LUA
}

# bench_result WORK COMMAND: the figures a bench wrote to WORK/figures.json,
# with the date, the machine and the command that reproduces them, as
# WORK/result.json (what BENCHMARKS.md quotes and bench/all.sh collects).
bench_result() {
  python3 - "$1" "$2" <<'PY'
import datetime, json, os, sys
work, command = sys.argv[1], sys.argv[2]
with open(os.path.join(work, "figures.json")) as f:
    figures = json.load(f)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown CPU")
mem_kib = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
out = {
    "bench": os.path.basename(work.rstrip("/")),
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": f"{os.cpu_count()} vCPU ({cpu}), {round(mem_kib / 1048576)} GiB",
    "command": command,
    "figures": figures,
}
path = os.path.join(work, "result.json")
with open(path, "w") as f:
    json.dump(out, f, indent=2)
print(f"figures: {path}")
PY
}

# bench_catalogue WORK CLOUDCASTS USERS: points CLOUDCAST__POSTGRES__URL (and
# the ClickHouse database) at the generated catalogue of that size, shared by
# the benches that read it (catalogue.sh, pages.sh, search_engine.sh),
# migrated to this build; the server's folders go under WORK. It is generated
# (bench/catalogue_data.sql, minutes at 1 M) only when missing, of another
# size, or with FRESH=1.
bench_catalogue() {
  local work="$1" cloudcasts="$2" users="$3" db=cloudcast_bench_catalogue have start log
  export CLOUDCAST__S3__EMBEDDED_ROOT="$work/s3" CLOUDCAST__S3__BUCKET=bench
  export CLOUDCAST__ANALYTICS__WAL_DIR="$work/wal" CLOUDCAST__TRANSCODE__WORK_DIR="$work/work"
  log=$(mktemp)
  export CLOUDCAST__POSTGRES__URL="${CLOUDCAST__POSTGRES__URL%/*}/$db"
  export CLOUDCAST__CLICKHOUSE__DATABASE=$db
  have=$(psql -tA "$CLOUDCAST__POSTGRES__URL" -c "SELECT cloudcasts || ' ' || users FROM bench_catalogue_size" 2>/dev/null || true)
  if [[ -z "${FRESH:-}" && "$have" == "$cloudcasts $users" ]]; then
    "${BENCH_BIN:-target/release/cloudcast}" migrate >"$log" 2>&1 || { cat "$log" >&2; return 1; }
    echo "the catalogue of $cloudcasts cloudcasts and $users users from before (FRESH=1 makes it again)"
    return 0
  fi
  psql -q "$CLOUDCAST_TEST_POSTGRES_ADMIN_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
  "${BENCH_BIN:-target/release/cloudcast}" migrate >"$log" 2>&1 || { cat "$log" >&2; return 1; }
  echo "generating $cloudcasts cloudcasts of $users users..."
  start=$(date +%s)
  psql -q "$CLOUDCAST__POSTGRES__URL" -v users="$users" -v cloudcasts="$cloudcasts" -f bench/catalogue_data.sql
  psql -q "$CLOUDCAST__POSTGRES__URL" -c "CREATE TABLE bench_catalogue_size AS SELECT $cloudcasts AS cloudcasts, $users AS users"
  echo "generated in $(( $(date +%s) - start )) s; $(psql -tA "$CLOUDCAST__POSTGRES__URL" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
}

# nginx lives in /usr/sbin, which a user's PATH on Debian lacks.
PATH="$PATH:/usr/sbin"

# bench_tools PACKAGE...: installs the Debian packages (wrk, nginx-light)
# whose command is missing; the package's first word names the command.
bench_tools() {
  local missing=() p sudo_cmd=""
  for p in "$@"; do command -v "${p%%-*}" >/dev/null || missing+=("$p"); done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || sudo_cmd="sudo"
  # A fresh machine has no package lists yet.
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
}

# bench_nginx_head WORK: the start of an nginx.conf that runs in the
# foreground with every file under WORK (the benches' reference servers).
bench_nginx_head() {
  cat <<EOF_NGINX
worker_processes auto;
daemon off;
pid $1/nginx.pid;
error_log $1/nginx-error.log warn;
$( [[ $(id -u) -eq 0 ]] && echo "user root;" )
events { worker_connections 1024; }
EOF_NGINX
}
