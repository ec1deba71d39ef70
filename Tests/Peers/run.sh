#!/usr/bin/env bash
# Real-peer end-to-end tests (Chromium, loopback-only network namespace). Needs root for unshare -n.
#   bash Tests/Peers/run.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
swift build --product transport-probe >/dev/null
swift build --product sfu >/dev/null
export TRANSPORT_PROBE="$(swift build --show-bin-path)/transport-probe"
export SFU_BINARY="${SFU_BINARY:-$(swift build --show-bin-path)/sfu}"
exec timeout 1500 python3 -m pytest -q -p no:cacheprovider -s Tests/Peers "$@"
