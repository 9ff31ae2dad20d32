#!/usr/bin/env bash
# Two search designs on the same generated catalogue, in one run: ranked
# full text inside PostgreSQL (what the API runs: every match found by the
# GIN index and ranked, then the first 21 ids; titles by trigram similarity
# for a typo; through psql) and an embedded tantivy index fed from
# PostgreSQL (bench/search_engine: built in memory from the listed
# cloudcasts, then the same queries, top 21 by BM25 with block-max WAND).
# Prints the build time and p50/p95 per kind.
#
#   bench/search_engine.sh [CLOUDCASTS] [USERS] [REPEAT]   (defaults: 1000000 100000 200)
#
# Shares the generated catalogue with bench/catalogue.sh (bench_catalogue
# in bench/lib.sh). Results also go to var/bench/search_engine/result.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
CLOUDCASTS="${1:-1000000}"
USERS="${2:-100000}"
REPEAT="${3:-200}"
WORK="$ROOT/var/bench/search_engine"
rm -rf "$WORK" && mkdir -p "$WORK"

eval "$(infra/dev services)"
cargo build --release --bin cloudcast -q
cargo build --release -q --manifest-path bench/search_engine/Cargo.toml --target-dir var/bench/search_engine_target
bench_catalogue "$WORK" "$CLOUDCASTS" "$USERS"
PG="$CLOUDCAST__POSTGRES__URL"
LISTED="c.visibility = 'public' AND c.status = 'ready' AND c.listed_at <= now() AND c.taken_down_at IS NULL
  AND NOT c.draft AND (c.owner_hidden_until IS NULL OR c.owner_hidden_until <= now())"

echo "$(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# tantivy: the listed cloudcasts, read from PostgreSQL as the feed would.
start=$(date +%s.%N)
psql -X -q "$PG" -c "\\copy (SELECT c.id, c.title, u.username, array_to_string(c.tags, ' '),
    COALESCE((SELECT string_agg((t->>'artist') || ' ' || (t->>'title'), ' ') FROM jsonb_array_elements(c.tracklist) t), ''),
    regexp_replace(c.description, '[\\t\\n]', ' ', 'g')
  FROM cloudcasts c JOIN users u ON u.id = c.owner_id WHERE $LISTED) TO '$WORK/rows.tsv'"
read_s=$(python3 -c "import time; print(round(time.time() - $start, 1))")
var/bench/search_engine_target/release/search-engine-bench "$REPEAT" <"$WORK/rows.tsv" >"$WORK/tantivy.json"

# PostgreSQL: the same queries as the route runs them, the first 21 ids.
python3 - "$PG" "$REPEAT" "$WORK" "$read_s" <<'PY'
import json, subprocess, sys
pg, repeat, work, read_s = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
LISTED = """(c.visibility = 'public' AND c.status = 'ready' AND c.listed_at <= now()
 AND c.taken_down_at IS NULL AND NOT c.draft
 AND (c.owner_hidden_until IS NULL OR c.owner_hidden_until <= now()))"""
KINDS = {
    "one word": ["sunset", "warehouse", "techno", "jazz", "voyage", "anthems", "rooftop", "groove", "house", "mix"],
    "two words": ["dub trance", "heat session", "rooftop signal", "club sunrise", "trance electro"],
    "a prefix": ["ware", "sunr", "frequ", "essen", "balea"],
    "a typo": ["warehuose", "sesion", "midnigth", "rythm", "classcs"],
}
def tsq(q):
    w = q.lower().split()
    return " & ".join(w[:-1] + [w[-1] + ":*" if len(w[-1]) >= 3 else w[-1]])
def sql(kind, q):
    if kind == "a typo":
        return f"""SELECT id FROM (SELECT c.id, word_similarity('{q}', lower(c.title)) AS rank FROM cloudcasts c
 WHERE {LISTED} AND lower(c.title) %> '{q}') h ORDER BY rank DESC, id DESC LIMIT 21"""
    return f"""SELECT id FROM (SELECT c.id, ts_rank(c.search_doc, to_tsquery('simple', '{tsq(q)}')) AS rank
 FROM cloudcasts c WHERE c.search_doc @@ to_tsquery('simple', '{tsq(q)}') AND {LISTED}) h
 ORDER BY rank DESC, id DESC LIMIT 21"""
def pct(xs, p):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]
tantivy = json.load(open(f"{work}/tantivy.json"))
figures = {"documents": tantivy["documents"], "tantivy_read_s": read_s, "tantivy_build_s": tantivy["build_s"], "kinds": {}}
print(f"tantivy: {tantivy['documents']} documents read from PostgreSQL in {read_s} s, indexed in {tantivy['build_s']} s")
print(f"{'kind':<10} {'PG p50':>8} {'PG p95':>8} {'tantivy p50':>12} {'tantivy p95':>12} {'PG/tantivy p95':>15}")
for kind, qs in KINDS.items():
    script = "\\timing on\n\\o /dev/null\n" + "".join(sql(kind, qs[i % len(qs)]) + ";\n" for i in range(repeat + 5))
    run = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg], input=script,
                         capture_output=True, text=True, check=True)
    t = [float(l.split()[1]) for l in run.stdout.splitlines() if l.startswith("Time:")][5:]
    r = {"postgres_p50_ms": pct(t, 0.5), "postgres_p95_ms": pct(t, 0.95),
         "tantivy_p50_ms": tantivy[kind]["p50_ms"], "tantivy_p95_ms": tantivy[kind]["p95_ms"]}
    r["ratio"] = r["postgres_p95_ms"] / r["tantivy_p95_ms"] if r["tantivy_p95_ms"] else None
    figures["kinds"][kind] = r
    print(f"{kind:<10} {r['postgres_p50_ms']:8.2f} {r['postgres_p95_ms']:8.2f} {r['tantivy_p50_ms']:12.2f} {r['tantivy_p95_ms']:12.2f} {r['ratio']:15.1f}")
json.dump(figures, open(f"{work}/figures.json", "w"), indent=2)
PY
bench_result "$WORK" "bench/search_engine.sh $CLOUDCASTS $USERS $REPEAT"
