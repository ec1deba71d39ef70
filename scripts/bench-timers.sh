#!/usr/bin/env bash
# Timer-lateness measurement (not a test): a three-party call of headless Chromium participants through a release
# `sfu`, then SIGIO, which makes every worker log how late its deadline timer fired (actual − requested time, p50 /
# p99 / max over the call). The server is pinned to CPU 1 and the browsers to CPU 0, so that the server's core is
# otherwise idle. On a virtual machine an idle vCPU is halted, and waking it for a timer takes the hypervisor
# milliseconds; with --awake a nice-19 busy loop keeps CPU 1 from halting (the server preempts it at once), which
# separates that cost from the server's own.
#   scripts/bench-timers.sh [SECONDS] [--awake]        (default 30 s)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
seconds="${1:-30}"
[ "$(nproc)" -ge 2 ] || { echo "needs two CPUs"; exit 1; }
swift build -c release --product sfu >/dev/null
bin="$(swift build -c release --show-bin-path)/sfu"
wrapper=$(mktemp)
printf '#!/bin/sh\nexec taskset -c 1 %s "$@"\n' "$bin" >"$wrapper"
chmod +x "$wrapper"
spinner=""
if [ "${2:-}" = "--awake" ]; then
  taskset -c 1 nice -n 19 python3 -c 'while True: pass' &
  spinner=$!
fi
trap '[ -n "$spinner" ] && kill "$spinner"; rm -f "$wrapper"' EXIT
SFU_BINARY="$wrapper" taskset -c 0 Tests/Peers/netns.sh python3 Tests/Peers/call_peer.py media --participants 3 --seconds "$seconds" |
  python3 -c '
import json, sys
r = json.loads(sys.stdin.read().strip().splitlines()[-1])
if "failure" in r:
    sys.exit("timer benchmark failed: " + r["failure"])
for line in r["timerLateness"]:
    print(line)
'
