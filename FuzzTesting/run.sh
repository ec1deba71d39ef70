#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer + AddressSanitizer and runs each for a time budget.
#
#   FuzzTesting/run.sh [SECONDS] [TARGET ...]     default: 60 s, every target
#
# For each target it first replays FuzzTesting/FailCases/<target>/* (regressions), then fuzzes
# starting from the committed seed corpus FuzzTesting/Corpus/<target>/ (seeded from Captures/ by
# FuzzTesting/seed-corpus.sh). New crashers land in FuzzTesting/artifacts/<target>/; copy the
# minimised ones into FailCases/ and into a unit-test row. Exits non-zero if any target crashes.
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-60}; shift || true
jobs=${FUZZ_JOBS:-2}
# Swift's own crash backtracer fights AddressSanitizer for the crashing thread; let ASan report.
export SWIFT_BACKTRACE=enable=no

echo "fuzz: building targets (release, -sanitize=fuzzer,address)"
buildlog=$(mktemp)
if ! swift build -c release -Xswiftc -sanitize=fuzzer,address >"$buildlog" 2>&1; then
  grep -E "error" "$buildlog" | head -30
  echo "fuzz: build failed"
  exit 1
fi
bin=$(swift build -c release -Xswiftc -sanitize=fuzzer,address --show-bin-path)

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for d in Sources/Fuzz*; do [ -f "$d/Harness.swift" ] && targets+=("$(basename "$d")"); done
fi

run_one() {
  local t=$1 secs=$2 bin=$3
  local work; work=$(mktemp -d)
  mkdir -p "artifacts/$t" "Corpus/$t"
  local log="artifacts/$t/last-run.log"
  if compgen -G "FailCases/$t/*" >/dev/null; then
    if ! "$bin/$t" FailCases/"$t"/* >"artifacts/$t/regressions.log" 2>&1; then
      echo "$t: REGRESSION — a FailCases input crashes again (artifacts/$t/regressions.log)"; return 1
    fi
  fi
  "$bin/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
     -artifact_prefix="artifacts/$t/" "$work" "Corpus/$t" >"$log" 2>&1
  local rc=$?
  local runs; runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
  local cov; cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1)
  rm -rf "$work"
  if [ $rc -ne 0 ]; then
    echo "$t: CRASH after ${runs:-?} executions — see $log and artifacts/$t/"; tail -30 "$log"; return 1
  fi
  echo "$t: ${runs:-0} executions in ${secs} s, ${cov:-cov: ?}, 0 crashes (seed corpus: $(ls "Corpus/$t" | wc -l) files)"
}
export -f run_one

failed=0
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c "run_one {} $secs $bin" || failed=1
[ $failed -eq 0 ] && echo "fuzz: all ${#targets[@]} targets ran ${secs} s without a crash"
exit $failed
