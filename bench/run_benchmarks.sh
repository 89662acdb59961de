#!/usr/bin/env bash
# Builds holdfast_bench in Release (its own build directory) and runs every benchmark: DataStore
# on SQLite versus raw SQLite (Get/Set/Update, 1 KB and 100 KB), ProfileStore on SQLite (session
# start + end versus raw transactions, hand-off latency, 10,000 active sessions: memory and the
# autosave sweep) and the JSON layer (100 KB, 4 MB). Takes about five minutes on a 2-core machine
# when the disk flushes fast, longer when it does not. See docs/benchmarks.md for how to read it.
#
#   bench/run_benchmarks.sh [extra Google Benchmark flags, e.g. --benchmark_filter=Get]
#
# Environment:
#   BUILD_DIR         build directory (default: build/bench)
#   JOBS              parallel compile jobs (default: 2)
#   MIN_TIME          --benchmark_min_time, seconds per repetition (default: 0.5); JSON benchmarks
#   STORAGE_MIN_TIME  seconds per repetition of the datastore/ benchmarks (default: 2)
#   REPETITIONS       --benchmark_repetitions (default: 5)
#   DB_DIR            where the temporary databases go; keep it on the disk to measure
#                     (default: /tmp)
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

# What one durable write costs on this disk right now: 200 x 4 KiB overwrites of one file with
# O_DSYNC (each one a write plus a flush, like a commit's WAL sync). On shared virtual machines
# this moves between tens of microseconds and milliseconds; the write benchmarks follow it.
flush_probe() {
  local probe="$db_dir/holdfast-flush-probe.$$" seconds
  dd if=/dev/zero of="$probe" bs=4k count=200 status=none conv=fsync  # allocated first
  seconds=$(dd if=/dev/zero of="$probe" bs=4k count=200 oflag=dsync conv=notrunc 2>&1 |
    sed -n 's/.* copied, \([0-9.e-]*\) s,.*/\1/p')
  rm -f "$probe"
  awk -v s="$seconds" 'BEGIN { printf "%.0f us per 4 KiB O_DSYNC write (mean of 200)\n", s * 1e6 / 200 }'
}

echo "== machine"
echo "nproc:    $(nproc)"
echo "cpu:      $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "kernel:   $(uname -r)"
echo "compiler: $(c++ --version | head -1)"
echo "sqlite:   $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')"
echo "disk:     $(df -T "$db_dir" | tail -1 | awk '{print $1, $2, "mounted on", $7}')"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
echo "flush:    $(flush_probe)"
echo "started:  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo

"$build/bench/holdfast_bench" \
  --benchmark_min_time="$min_time" \
  --benchmark_repetitions="$repetitions" \
  --benchmark_out="$build/bench_results.json" --benchmark_out_format=json \
  --holdfast_storage_min_time="$storage_min_time" \
  --holdfast_bench_dir="$db_dir" \
  "$@" | tee "$build/bench_output.txt"

echo
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at the end"
echo "flush:    $(flush_probe) at the end"
echo "full output: $build/bench_output.txt, every run as JSON: $build/bench_results.json"
