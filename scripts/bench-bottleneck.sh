#!/usr/bin/env bash
# Real browsers behind a real bottleneck, side by side (issue #10): the receiver's downlink steps
# HIGH -> LOW -> HIGH kbit/s (htb + bfifo on lo in a loopback-only network namespace; needs root, like the
# real-peer tests) while a 1280x720 simulcast camera and a microphone are sent to it:
#   send-side  through sfu with send-side estimation, probing and pacing (the default)
#   loss-only  through sfu with the old loss-only budget (RTC_CONGESTION_CONTROL=loss-only)
#   direct     Chromium to Chromium with no server: the sender's own libwebrtc estimator (goog_cc) adapts
#   bash scripts/bench-bottleneck.sh [--high 2500] [--low 400] [--phase 15] [--queue 64000] [--rounds 1]
# Prints per mode one line a second (the receiver's key frames, jitter-buffer delay and target, audio's target delay
# among them), then the figures of the drop side by side; JSON and the server's debug logs in $OUT (default
# /tmp/bench-bottleneck).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
ROUNDS=1
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS="$2"; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
OUT="${OUT:-/tmp/bench-bottleneck}"
mkdir -p "$OUT"
bash scripts/setup.sh >/dev/null   # Chromium, chromedriver, iproute2 (tc), the Python packages
swift build -c release --product sfu >/dev/null
export SFU_BINARY="$(swift build -c release --show-bin-path)/sfu"
for round in $(seq 1 "$ROUNDS"); do
  for mode in send-side loss-only direct; do
    echo "== round $round: $mode" >&2
    timeout 400 Tests/Peers/netns.sh python3 Tests/Peers/bottleneck.py --mode "$mode" --server-log "$OUT/$mode-$round.log" \
      "${ARGS[@]}" >"$OUT/$mode-$round.json"
  done
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
modes = ["send-side", "loss-only", "direct"]
runs = {m: [json.load(open(f"{out}/{m}-{r}.json")) for r in range(1, rounds + 1)] for m in modes}
for m in modes:
    for r, run in enumerate(runs[m], 1):
        print(f"-- {m}, round {r}" + (f": FAILED {run['failure']}" if run.get("failure") else f" (warm-up {run.get('warmupSeconds')} s)"))
        print("  s  capacity  offered  delivered  backlog  estimate  fps  width  keyframes  freezes  lost  jitterbuf  target  audio")
        for row in run.get("seconds", []):
            f = lambda k, w: str(row.get(k) if row.get(k) is not None else "-").rjust(w)   # noqa: E731
            print(f"{f('second', 3)} {f('capacityKbps', 9)} {f('offeredKbps', 8)} {f('deliveredKbps', 10)} {f('backlogBytes', 8)} "
                  f"{f('estimateKbps', 9)} {f('fps', 4)} {f('frameWidth', 6)} {f('keyFrames', 10)} {f('freezeCount', 8)} {f('packetsLost', 5)} "
                  f"{f('jitterBufferMs', 10)} {f('targetDelayMs', 7)} {f('audioTargetDelayMs', 6)}")
labels = [("underCapacityAfterSeconds", "under capacity after drop (s)"), ("bottleneckLossPercent", "loss at the bottleneck, 10 s after drop (%)"),
          ("receiverLossPercent", "video packets lost (receiver), 10 s after drop (%)"), ("longestFreezeSeconds", "longest freeze from drop + 3 s (s)"),
          ("utilisationPercent", "utilisation, 2nd half of the low phase (%)"), ("topLayerBackAfterSeconds", "top resolution back after rise (s)"),
          ("maxJitterBufferMs", "max video jitter-buffer delay (ms)"), ("maxAudioTargetDelayMs", "max audio jitter-buffer target (ms)")]
print("-- figures (one column per mode and round; acceptance: < 2 s, < 2 %, <= 0.5 s, >= 80 %, <= 8 s)")
head = [f"{m}#{r}" for m in modes for r in range(1, rounds + 1)]
print("  " + "".ljust(52) + "".join(h.rjust(13) for h in head))
for key, label in labels:
    vals = [(run.get("figures") or {}).get(key) for m in modes for run in runs[m]]
    print("  " + label.ljust(52) + "".join(str(v if v is not None else "-").rjust(13) for v in vals))
PY
