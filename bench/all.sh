#!/usr/bin/env bash
# Every bench once, at small sizes: a quick check that each still runs and
# roughly where its ratio stands (the figures to quote come from the full
# sizes each script defaults to). Beside a running system, as each bench is.
# Prints one line per bench and writes var/bench/all.json, a list of every
# bench's result.json.
#
#   bench/all.sh            (about 15 minutes on 2 cores once the release
#                            binary is built)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
mkdir -p var/bench
cargo build --release --bin cloudcast -q

# NAME ARGS...: the small size of each bench.
BENCHES=(
  "upload 256 1"
  "transcode 10 1"
  "stream 1 5"
  "analytics 1 5 5000000"
  "privacy 1 2000000 36000"
  "catalogue 100000 10000 50"
  "pages 100000 10000 5 32"
  "search_engine 100000 10000 50"
  "cluster 1 5 5000000"
  "soak 60"
)
failed=()
for b in "${BENCHES[@]}"; do
  read -r name args <<<"$b"
  started=$(date +%s)
  # shellcheck disable=SC2086 # ARGS are words on purpose
  if bench/"$name".sh $args >"var/bench/$name.log" 2>&1; then
    echo "$name: $(( $(date +%s) - started )) s"
  else
    echo "$name: FAILED after $(( $(date +%s) - started )) s (var/bench/$name.log)"
    failed+=("$name")
  fi
done

python3 - <<'PY'
import json, pathlib
results = []
for p in sorted(pathlib.Path("var/bench").glob("*/result.json")):
    r = json.loads(p.read_text())
    results.append(r)
    f = r["figures"]
    ratios = {k: round(v["ratio"], 2) for k, v in f.items() if isinstance(v, dict) and "ratio" in v}
    if "ratio" in f:
        ratios["ratio"] = round(f["ratio"], 2)
    if "worst_served_p95_ms" in f:
        ratios["worst p95 ms"] = round(f["worst_served_p95_ms"], 1)
    print(f"  {r['bench']:10s} {r['command']:40s} {ratios}")
pathlib.Path("var/bench/all.json").write_text(json.dumps(results, indent=2))
print("all results: var/bench/all.json")
PY
[[ ${#failed[@]} -eq 0 ]] || { echo "failed: ${failed[*]}" >&2; exit 1; }
