#!/usr/bin/env bash
# Runs the package-benchmark suites in Benchmarks/ (release build). Extra arguments go to the
# benchmark plugin, e.g. `scripts/bench.sh --filter 'RTP.*'` or `--target RTPBenchmarks`.
set -euo pipefail
cd "$(dirname "$0")/../Benchmarks"
export PATH="/opt/swift/usr/bin:$PATH"
exec swift package --disable-sandbox benchmark "$@"
