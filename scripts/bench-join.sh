#!/usr/bin/env bash
# Join-latency benchmark (not a test): the time from a participant's client starting to connect (the
# WebSocket opens right after) until both of its WebRTC transports are ICE + DTLS "connected", measured in
# headless Chromium running our JS client against a release `sfu`, inside a loopback-only namespace.
#   scripts/bench-join.sh [ROUNDS] [PARTICIPANTS]      (defaults: 10 rounds of 2 participants)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
rounds="${1:-10}"
participants="${2:-2}"
swift build -c release --product sfu >/dev/null
export SFU_BINARY="$(swift build -c release --show-bin-path)/sfu"
Tests/Peers/netns.sh python3 Tests/Peers/call_peer.py join --rounds "$rounds" --participants "$participants" |
  python3 -c '
import json, statistics, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
if "failure" in r:
    sys.exit("join benchmark failed: " + r["failure"])
for key, label in (("joinMilliseconds", "every join"), ("joinIntoLiveCallMilliseconds", "joining a live call")):
    t = sorted(r[key])
    q = lambda p: t[min(len(t) - 1, int(p * len(t)))]
    print(f"join latency, {label}, {len(t)} joins (ms): min {t[0]:.0f}  p50 {statistics.median(t):.0f}  p90 {q(0.9):.0f}  max {t[-1]:.0f}")
'
