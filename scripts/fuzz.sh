#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz and runs each for
# SECONDS (default 600). Findings (crash-*, leak-*) are written to build-fuzz/findings.
#   scripts/fuzz.sh 30     the short run `make test` does
#   scripts/fuzz.sh        the long run of `make fuzz`
set -euo pipefail
seconds="${1:-600}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${root}/build-fuzz"

CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBRIDGELINE_FUZZ=ON >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target request_fuzz

# The checked-in corpus seeds a working copy, so what the fuzzer learns stays out of the tree.
corpus="${build}/corpus/request"
mkdir -p "$corpus" "${build}/findings"
cp -n "${root}/tests/fuzz/corpus/"* "$corpus/"
echo "fuzz: request decoding for ${seconds}s"
log="${build}/findings/request_fuzz.log"
if ! "${build}/tests/fuzz/request_fuzz" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 -artifact_prefix="${build}/findings/" "$corpus" >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "fuzz: request_fuzz found a problem; the input is in ${build}/findings" >&2
  exit 1
fi
grep -E '^(Done|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb))' "$log"
