#!/usr/bin/env bash
# The pages people open, at size, under load: the home page, a profile, a
# mix page, a tag page and a search page, each over many URLs (profiles,
# mixes, tags and words of the generated catalogue), with CONNS concurrent
# readers, anonymous and signed in; side by side with nginx serving the
# same HTML from a file in the same run, the physical reference. Anonymous
# readers send no validator: each request is rendered, as a cache's miss is;
# a third run sends them through nginx caching our pages as their headers
# allow (what a CDN in front would do).
#
#   bench/pages.sh [CLOUDCASTS] [USERS] [SECONDS] [CONNS]   (defaults: 1000000 100000 15 32)
#
# Needs the services (infra/dev services); installs wrk and nginx-light;
# runs beside a system started by infra/dev up (its own port). Shares the
# generated catalogue with bench/catalogue.sh (bench_catalogue in
# bench/lib.sh). Results also go to var/bench/pages/result.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
CLOUDCASTS="${1:-1000000}"
USERS="${2:-100000}"
SECS="${3:-15}"
CONNS="${4:-32}"
WORK="$ROOT/var/bench/pages"
PORT=8944
NGINX_PORT=8945
CACHE_PORT=8946
rm -rf "$WORK" && mkdir -p "$WORK/www"

bench_tools wrk nginx-light
eval "$(infra/dev services)"
cargo build --release --bin cloudcast -q

# Every reader comes from one address: lift the anonymous read limit (the
# limit is not what is measured; bench/soak.sh runs with the defaults).
export CLOUDCAST__LIMITS__ANONYMOUS_READS_PER_MINUTE_PER_ADDRESS=1000000000
export CLOUDCAST__LIMITS__SIGNUPS_PER_HOUR_PER_ADDRESS=1000
bench_catalogue "$WORK" "$CLOUDCASTS" "$USERS"

B="http://127.0.0.1:$PORT"
target/release/cloudcast serve --role api --listen "127.0.0.1:$PORT" >>"$WORK/server.log" 2>&1 &
SERVER=$!
{ bench_nginx_head "$WORK"; cat <<EOF; } >"$WORK/nginx.conf"
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx-body;
  proxy_temp_path $WORK/nginx-proxy;
  fastcgi_temp_path $WORK/nginx-fastcgi;
  uwsgi_temp_path $WORK/nginx-uwsgi;
  scgi_temp_path $WORK/nginx-scgi;
  # Our pages behind nginx as a cache, as their headers allow: anonymous
  # pages kept 10 s and served stale while one request renders again;
  # a session cookie passes through uncached (the README's set-up).
  proxy_cache_path $WORK/nginx-cache levels=1:2 keys_zone=pages:16m max_size=1g inactive=10m use_temp_path=off;
  upstream cloudcast { server 127.0.0.1:$PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$CACHE_PORT;
    location / {
      proxy_pass http://cloudcast;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache pages;
      proxy_cache_lock on;
      proxy_cache_background_update on;
      proxy_cache_revalidate on;
      proxy_cache_use_stale updating error timeout;
      proxy_cache_bypass \$cookie_cc_session;
      proxy_no_cache \$cookie_cc_session;
      # Keyed on the session cookie alone (README): a browser's other
      # cookies (the listener cookie) must not split the cache per reader.
      proxy_ignore_headers Vary;
    }
  }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    default_type text/html;
    # Every URL answers the same page from its file.
    location / { try_files /page.html =404; }
  }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX=$!
trap 'kill $SERVER $NGINX 2>/dev/null || true' EXIT
for _ in $(seq 150); do curl -sf "$B/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -sf "$B/healthz" >/dev/null || { echo "the server did not start ($WORK/server.log)" >&2; exit 1; }
kill -0 "$NGINX" 2>/dev/null || { echo "nginx did not start ($WORK/nginx-error.log)" >&2; exit 1; }

# A reader with an account (the pages read it on every visit).
psql -q "$CLOUDCAST__POSTGRES__URL" -c "DELETE FROM users WHERE username = 'pagesbench'"
TOKEN=$(bench_user "$B" pagesbench "bench password")

# The URLs of each page: many of them, so no page is served from one row
# the database keeps hot.
PG="$CLOUDCAST__POSTGRES__URL"
LISTED="c.visibility = 'public' AND c.status = 'ready' AND c.listed_at <= now()"
echo "/" >"$WORK/home.urls"
psql -tA "$PG" -c "SELECT '/' || username FROM users WHERE username LIKE 'dj\_%' ORDER BY md5(username) LIMIT 500" >"$WORK/profile.urls"
psql -tA "$PG" -c "SELECT '/' || u.username || '/' || c.slug FROM cloudcasts c JOIN users u ON u.id = c.owner_id
  WHERE $LISTED ORDER BY md5(c.id::text) LIMIT 500" >"$WORK/mix.urls"
psql -tA "$PG" -c "SELECT '/tags/' || replace(replace(tag, ' ', '%20'), '&', '%26') FROM tag_counts" >"$WORK/tag.urls"
for w in sunset warehouse techno jazz voyage anthems rooftop groove 'dub trance' 'heat session' \
  'club sunrise' warehuose sesion midnigth ware sunr frequ essen balea; do
  echo "/search?q=${w// /+}"
done >"$WORK/search.urls"

# wrk script: each thread walks the URL file from its own offset; the
# done() hook prints "req_per_s p50_ms p95_ms p99_ms errors" (errors: a
# status other than 2xx or 3xx, or no answer within 10 s).
cat >"$WORK/urls.lua" <<'EOF'
local urls = {}
for line in io.lines(os.getenv("URLS")) do urls[#urls + 1] = line end
local cookie = os.getenv("COOKIE")
-- Each thread starts at its own place (a table's address differs per thread).
math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
local i = math.random(#urls)
request = function()
  i = i % #urls + 1
  local headers = {}
  if cookie and cookie ~= "" then headers["Cookie"] = cookie end
  return wrk.format("GET", urls[i], headers)
end
done = function(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  io.write(string.format("%.1f %.2f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, bad))
end
EOF
# run_wrk URL_FILE BASE [COOKIE] -> "req_per_s p50_ms p95_ms p99_ms errors"
run_wrk() {
  URLS="$1" COOKIE="${3:-}" wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 10s -s "$WORK/urls.lua" "$2" | tail -1
}

echo "$(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "$CLOUDCASTS cloudcasts, $USERS users, $CONNS readers, $SECS s per run (milliseconds)"
printf '%-8s %-26s %9s %8s %8s %8s %14s %9s\n' page reader 'req/s' p50 p95 p99 'nginx p95' 'req ratio'
: >"$WORK/runs.txt"
for page in home profile mix tag search; do
  first=$(head -1 "$WORK/$page.urls")
  # nginx answers this page's HTML, as rendered for an anonymous reader.
  curl -sf "$B$first" -o "$WORK/www/page.html"
  ref=$(run_wrk "$WORK/$page.urls" "http://127.0.0.1:$NGINX_PORT")
  for reader in anonymous signed_in anonymous_via_nginx_cache; do
    cookie=""; [[ $reader == signed_in ]] && cookie="cc_session=$TOKEN"
    base="$B"; [[ $reader == anonymous_via_nginx_cache ]] && base="http://127.0.0.1:$CACHE_PORT"
    # The page as this reader gets it, once, before the load.
    code=$(curl -s -o /dev/null -w '%{http_code}' ${cookie:+-H "Cookie: $cookie"} "$base$first")
    [[ $code == 200 ]] || { echo "$page ($reader): $first answered $code" >&2; exit 1; }
    ours=$(run_wrk "$WORK/$page.urls" "$base" "$cookie")
    echo "$page $reader $ours $ref" >>"$WORK/runs.txt"
    read -r rps p50 p95 p99 bad <<<"$ours"
    read -r nrps _ np95 _ _ <<<"$ref"
    [[ $bad == 0 ]] || echo "$page ($reader): $bad requests failed or took over 10 s" >&2
    printf '%-8s %-26s %9.0f %8.2f %8.2f %8.2f %14.2f %9.3f\n' "$page" "$reader" "$rps" "$p50" "$p95" "$p99" "$np95" \
      "$(python3 -c "print($rps / $nrps)")"
  done
done

python3 - "$WORK" "$CONNS" <<'PY'
import json, sys
work, conns = sys.argv[1], int(sys.argv[2])
figures = {"readers": conns, "pages": {}}
worst = 0.0
for line in open(f"{work}/runs.txt"):
    page, reader, rps, p50, p95, p99, bad, nrps, np50, np95, np99, nbad = line.split()
    r = {"req_per_s": float(rps), "p50_ms": float(p50), "p95_ms": float(p95), "p99_ms": float(p99),
         "failed": int(bad), "nginx_req_per_s": float(nrps), "nginx_p95_ms": float(np95),
         "ratio": float(rps) / float(nrps)}
    figures["pages"][f"{page} ({reader.replace('_', ' ')})"] = r
    worst = max(worst, float(p95))
figures["worst_served_p95_ms"] = worst
json.dump(figures, open(f"{work}/figures.json", "w"), indent=2)
print(f"worst p95: {worst:.2f} ms (goal < 30 ms)")
PY
bench_result "$WORK" "bench/pages.sh $CLOUDCASTS $USERS $SECS $CONNS"
