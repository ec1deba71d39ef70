#!/usr/bin/env bash
# Runs every test of the project on a fresh Debian 12 machine:
#   1. installs what is missing (scripts/setup.sh: apt + pip packages),
#   2. checks module boundaries and the sans-IO rule (scripts/check-boundaries.sh),
#   3. builds and runs the Swift test suite (unit, table, RFC-vector and capture-replay conformance tests),
#   4. runs every libFuzzer target for FUZZ_SECONDS (default 60) each.
# Exit status is non-zero if anything fails. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-60}

bash scripts/setup.sh
export PATH="/opt/swift/usr/bin:$PATH"

echo "== module boundaries"
bash scripts/check-boundaries.sh

echo "== swift test"
log=$(mktemp)
set +e
swift build --build-tests >"$log" 2>&1 || { grep -E "error|warning: unre" "$log" | head -50; echo "build failed"; exit 1; }
swift test --skip-build >"$log" 2>&1
status=$?
set -e
# Show failures and the per-suite summary, not one line per passing test.
grep -vE '^(✔|◇|↳) |^􁁛|^􀟈|^Test Suite .* (started|passed)|^Test Case .* (started|passed)' "$log" | tail -200 || true
echo "-- conformance (captured packets replayed per module):"
grep -hE 'conformance: replayed' "$log" | sort -u || echo "(no conformance lines)"
echo "-- congestion control in virtual time (send-side estimation vs the loss-only budget):"
grep -hE '^congestion scenario: ' "$log" | sort -u || echo "(no congestion scenario lines)"
passed=$(grep -oE 'Test run with [0-9]+ tests' "$log" | grep -oE '[0-9]+' | tail -1 || true)
[ "$status" -eq 0 ] || { echo "swift test failed (exit $status)"; exit "$status"; }

echo "== Odoo protocol tests (real sfu process, Python client)"
set +e
bash Tests/OdooProtocol/run.sh >"$log.py" 2>&1
pystatus=$?
set -e
tail -5 "$log.py"
pypassed=$(grep -oE '[0-9]+ passed' "$log.py" | tail -1 | grep -oE '[0-9]+' || true)
[ "$pystatus" -eq 0 ] || { cat "$log.py" | tail -60; echo "Odoo protocol tests failed"; exit 1; }

echo "== real-peer end-to-end tests (Chromium in a loopback-only network namespace)"
set +e
bash Tests/Peers/run.sh >"$log.peers" 2>&1
peerstatus=$?
set -e
grep -E "passed|failed|error" "$log.peers" | tail -3 || true
peerpassed=$(grep -oE '[0-9]+ passed' "$log.peers" | tail -1 | grep -oE '[0-9]+' || true)
[ "$peerstatus" -eq 0 ] || { tail -80 "$log.peers"; echo "end-to-end tests failed"; exit 1; }

echo "== fuzzing (${FUZZ_SECONDS} s per target)"
if [ "$FUZZ_SECONDS" -gt 0 ]; then
  bash FuzzTesting/run.sh "$FUZZ_SECONDS"
fi
echo "== all tests passed"
echo "tests: $(( ${passed:-0} + ${pypassed:-0} + ${peerpassed:-0} )) passed, 0 failed"
