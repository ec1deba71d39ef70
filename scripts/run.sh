#!/usr/bin/env bash
# Builds and starts the SFU on a fresh Debian 12 machine with working development defaults:
# loopback only, PUBLIC_IP=127.0.0.1, and a generated AUTH_KEY that is printed so Odoo (or a test
# client) can sign its tokens. Every odoo/sfu environment variable you set yourself wins.
#   scripts/run.sh [sfu arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --server
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product sfu 2>&1 | grep -E "error|Compiling App|Build complete" || true

export PUBLIC_IP=${PUBLIC_IP:-127.0.0.1}
export HTTP_INTERFACE=${HTTP_INTERFACE:-127.0.0.1}
export RTC_INTERFACE=${RTC_INTERFACE:-127.0.0.1}
if [ -z "${AUTH_KEY:-}" ]; then
  AUTH_KEY=$(head -c 32 /dev/urandom | base64)
  export AUTH_KEY
  echo "run: generated AUTH_KEY=$AUTH_KEY (development only; set AUTH_KEY to use your own)"
fi
exec "$(swift build -c release --show-bin-path)/sfu" "$@"
