#!/usr/bin/env bash
# Transcode wall time: a long source through our pipeline (`cloudcast
# transcode`: one decode, tee, three avenc_aac encoders in parallel, mp4mux
# fragmented, plus loudness and peaks) vs ffmpeg making the same three AAC
# renditions (same FFmpeg AAC encoder, bitrates, 6 s fragments) from one
# process, alternating runs. Reports medians, the ratio and our realtime factor.
#
#   bench/transcode.sh [MINUTES] [RUNS]     (defaults: 120 minutes, 3 runs)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
MINUTES="${1:-120}"
RUNS="${2:-3}"
WORK="$ROOT/var/bench/transcode"
mkdir -p "$WORK"
infra/dev services >/dev/null
cargo build --release --bin cloudcast -q

# A DJ-mix-like source: noise plus a tone, stereo 44.1 kHz MP3 at 320 kb/s.
SRC="$WORK/source-${MINUTES}min.mp3"
if [[ ! -s "$SRC" ]]; then
  ffmpeg -v error -y -f lavfi -i "anoisesrc=color=pink:amplitude=0.3:sample_rate=44100" \
    -f lavfi -i "sine=frequency=220:sample_rate=44100" \
    -filter_complex "[0][1]amix=inputs=2,aformat=channel_layouts=stereo" \
    -t $((MINUTES * 60)) -c:a libmp3lame -b:a 320k "$SRC"
fi

now() { date +%s.%N; }
ours=(); theirs=(); rtf=()
for run in $(seq "$RUNS"); do
  rm -rf "$WORK/ours" "$WORK/ffmpeg" && mkdir -p "$WORK/ffmpeg"
  t0=$(now)
  target/release/cloudcast transcode "$SRC" --out "$WORK/ours" > "$WORK/ours.json"
  t1=$(now)
  ffmpeg -v error -y -i "$SRC" \
    -map 0:a -c:a aac -b:a 64k -ac 2 -ar 44100 -f mp4 -movflags +frag_keyframe+empty_moov+default_base_moof -frag_duration 6000000 "$WORK/ffmpeg/64.mp4" \
    -map 0:a -c:a aac -b:a 128k -ac 2 -ar 44100 -f mp4 -movflags +frag_keyframe+empty_moov+default_base_moof -frag_duration 6000000 "$WORK/ffmpeg/128.mp4" \
    -map 0:a -c:a aac -b:a 192k -ac 2 -ar 44100 -f mp4 -movflags +frag_keyframe+empty_moov+default_base_moof -frag_duration 6000000 "$WORK/ffmpeg/192.mp4"
  t2=$(now)
  ours+=("$(python3 -c "print($t1 - $t0)")")
  theirs+=("$(python3 -c "print($t2 - $t1)")")
  rtf+=("$(python3 -c "import json; print(json.load(open('$WORK/ours.json'))['realtime_factor'])")")
  echo "run $run: ours ${ours[-1]} s, ffmpeg ${theirs[-1]} s" >&2
done
python3 - "$MINUTES" "${ours[*]}" "${theirs[*]}" "${rtf[*]}" "$WORK/figures.json" <<'PY'
import json, statistics, sys
minutes = int(sys.argv[1])
ours = [float(x) for x in sys.argv[2].split()]
theirs = [float(x) for x in sys.argv[3].split()]
rtf = [float(x) for x in sys.argv[4].split()]
o, t = statistics.median(ours), statistics.median(theirs)
print(f"source: {minutes} min MP3 320k; runs: {len(ours)}")
print(f"cloudcast transcode: median {o:.1f} s  (runs: {', '.join(f'{x:.1f}' for x in ours)})")
print(f"ffmpeg, 3 outputs:   median {t:.1f} s  (runs: {', '.join(f'{x:.1f}' for x in theirs)})")
print(f"wall-time ratio ours / ffmpeg: {o / t:.2f}")
print(f"our realtime factor: {statistics.median(rtf):.0f}x")
with open(sys.argv[5], "w") as f:
    json.dump({"minutes": minutes, "ours_s": ours, "ffmpeg_s": theirs, "median_ours_s": o,
               "median_ffmpeg_s": t, "ratio": o / t, "realtime_factor": statistics.median(rtf)}, f, indent=2)
PY
bench_result "$WORK" "bench/transcode.sh $MINUTES $RUNS"
