#!/usr/bin/env bash
# Builds holdfast_bench in Release (its own build directory) and runs every benchmark: DataStore
# on SQLite versus raw SQLite (Get/Set/Update, 1 KB and 100 KB), ProfileStore on SQLite (session
# start + end versus raw transactions, hand-off latency, 10,000 active sessions: memory and the
# autosave sweep) and the JSON layer (100 KB, 4 MB); then the PostgreSQL benchmarks
# (bench/run_postgres_benchmarks.sh, on a throw-away loopback cluster). Takes about nine minutes
# on a 2-core machine when the disk flushes fast, longer when it does not. See docs/benchmarks.md
# for how to read it.
#
#   bench/run_benchmarks.sh [extra Google Benchmark flags, e.g. --benchmark_filter=Get]
#
# Environment:
#   BUILD_DIR         build directory (default: build/bench)
#   JOBS              parallel compile jobs (default: 2)
#   MIN_TIME          --benchmark_min_time, seconds per repetition (default: 0.5); JSON benchmarks
#   STORAGE_MIN_TIME  seconds per repetition of the datastore/ benchmarks (default: 2)
#   REPETITIONS       --benchmark_repetitions (default: 5)
#   DB_DIR            where the temporary databases (and the PostgreSQL cluster) go; keep it on
#                     the disk to measure (default: /tmp)
#   POSTGRES          1: also run bench/run_postgres_benchmarks.sh afterwards; 0: do not
#                     (default: 1 without extra flags, 0 with them)
# Own flags of the binary (pass them like Google Benchmark's): --holdfast_handoffs=N,
# --holdfast_handoff_renew_ms=MS, --holdfast_profiles=N, --holdfast_variants=LIST.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build/bench}"
jobs="${JOBS:-2}"
min_time="${MIN_TIME:-0.5}"
storage_min_time="${STORAGE_MIN_TIME:-2}"
repetitions="${REPETITIONS:-5}"
db_dir="${DB_DIR:-/tmp}"

# Release (-O3, NDEBUG); tests off. Warnings stay warnings here: GCC 12 reports a few false
# positives only at -O3 (-Wrestrict, -Wnull-dereference) in code this script does not own, and
# they must not stop a measurement. scripts/test.sh builds with -Werror.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOLDFAST_BUILD_TESTS=OFF \
  -DHOLDFAST_WERROR=OFF >/dev/null
cmake --build "$build" -j "$jobs" --target holdfast_bench

# shellcheck source=bench/machine_notes.sh
source "$root/bench/machine_notes.sh"
machine_notes

"$build/bench/holdfast_bench" \
  --benchmark_min_time="$min_time" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_out="$build/bench_results.json" --benchmark_out_format=json \
  --holdfast_storage_min_time="$storage_min_time" \
  --holdfast_bench_dir="$db_dir" \
  "$@" | tee "$build/bench_output.txt"

end_notes
echo "full output: $build/bench_output.txt, every run as JSON: $build/bench_results.json"

# Then the PostgreSQL benchmarks on a throw-away loopback cluster, unless POSTGRES=0 (or, when
# flags were given for the SQLite run, unless POSTGRES=1).
if [[ ${POSTGRES:-$([[ $# -eq 0 ]] && echo 1 || echo 0)} == 1 ]]; then
  echo
  SKIP_BUILD=1 BUILD_DIR="$build" "$root/bench/run_postgres_benchmarks.sh"
fi
