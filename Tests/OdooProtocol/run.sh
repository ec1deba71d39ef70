#!/usr/bin/env bash
# Odoo protocol tests: starts the real `sfu` binary (127.0.0.1, random free ports) and drives it with an
# independent Python client (requests, PyJWT). Usage: bash Tests/OdooProtocol/run.sh [pytest args]
# Uses $SFU_BINARY if set, else builds the debug `sfu` product.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH="/opt/swift/usr/bin:$PATH"
if [ -z "${SFU_BINARY:-}" ]; then
  swift build --product sfu >/dev/null
  SFU_BINARY="$(swift build --show-bin-path)/sfu"
  export SFU_BINARY
fi
python3 -c 'import jwt, requests, pytest' 2>/dev/null || python3 -m pip install -q pyjwt requests pytest
exec timeout 600 python3 -m pytest -q -p no:cacheprovider Tests/OdooProtocol "$@"
