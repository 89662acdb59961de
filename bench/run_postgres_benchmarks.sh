#!/usr/bin/env bash
# The PostgreSQL benchmarks (postgres/, docs/benchmarks.md "PostgreSQL"): builds holdfast_bench in
# Release (its own build directory), starts a throw-away PostgreSQL cluster on loopback with
# scripts/pg-cluster.sh (fsync on; its data directory under DB_DIR, on the disk to measure), runs
# DataStore Get/Set/Update against raw libpq (1 KB, 100 KB), the push hand-off latency, the
# autosave sweep of 10,000 profiles and session starts per second with 1, 2 and 4 client
# processes, then stops the cluster (also on failure or Ctrl-C). About four minutes.
#
#   bench/run_postgres_benchmarks.sh [extra flags, e.g. --benchmark_filter=postgres/Get]
#
# Environment: BUILD_DIR, JOBS, STORAGE_MIN_TIME, REPETITIONS, DB_DIR as for run_benchmarks.sh;
# SKIP_BUILD=1 to use the binary as built; PIN_CPU=N runs the server and the benchmark on CPU N
# only (taskset): on this VM a flush's cost depends on the CPU that issues it, and PostgreSQL's
# committing backend issues it, so unpinned runs can give the variants' connections different
# flush costs. STATEMENT_STATS=1 loads pg_stat_statements into the server and prints, at the
# end, each statement's calls and mean server execution time (µs), which splits a variant's
# server time per statement. Own flags of the binary: --holdfast_pg_handoffs=N
# (200), --holdfast_pg_handoff_renew_ms=MS (60000), --holdfast_pg_processes=LIST (1,2,4),
# --holdfast_pg_starts_seconds=S (5), --holdfast_profiles=N (10000).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build/bench}"
jobs="${JOBS:-2}"
storage_min_time="${STORAGE_MIN_TIME:-2}"
repetitions="${REPETITIONS:-5}"
db_dir="${DB_DIR:-/tmp}"
# shellcheck source=bench/machine_notes.sh
source "$root/bench/machine_notes.sh"

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  # Release, tests off, warnings not errors (see run_benchmarks.sh).
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DHOLDFAST_BUILD_TESTS=OFF \
    -DHOLDFAST_WERROR=OFF >/dev/null
  cmake --build "$build" -j "$jobs" --target holdfast_bench
fi

pin=()
if [[ -n ${PIN_CPU:-} ]]; then pin=(taskset -c "$PIN_CPU"); fi

cluster="$db_dir/holdfast-bench-pg.$$"
trap '"$root/scripts/pg-cluster.sh" stop "$cluster"' EXIT
psql=("${PG_BINDIR:-/usr/lib/postgresql/15/bin}/psql" -X -q -v ON_ERROR_STOP=1)
if [[ ${STATEMENT_STATS:-0} == 1 ]]; then
  export PG_SERVER_OPTIONS="-c shared_preload_libraries=pg_stat_statements"
fi
uri=$("${pin[@]}" "$root/scripts/pg-cluster.sh" start "$cluster")
if [[ ${STATEMENT_STATS:-0} == 1 ]]; then
  "${psql[@]}" "$uri" -c "CREATE EXTENSION pg_stat_statements"
fi

machine_notes
echo "postgres: $("${PG_BINDIR:-/usr/lib/postgresql/15/bin}/postgres" --version), cluster in" \
  "$cluster (fsync on, synchronous_commit on, shared_buffers 64MB), $uri"
if [[ -n ${PIN_CPU:-} ]]; then echo "pinned:   server and benchmark on CPU $PIN_CPU"; fi
echo

# The SQLite benchmarks are filtered out; the SQLite environment is still created (documents).
"${pin[@]}" "$build/bench/holdfast_bench" \
  --benchmark_filter='^postgres/' \
  --benchmark_repetitions="$repetitions" \
  --benchmark_out="$build/bench_postgres_results.json" --benchmark_out_format=json \
  --holdfast_storage_min_time="$storage_min_time" \
  --holdfast_bench_dir="$db_dir" \
  --holdfast_postgres_uri="$uri" \
  "$@" | tee "$build/bench_postgres_output.txt"

if [[ ${STATEMENT_STATS:-0} == 1 ]]; then
  echo
  echo "server time per statement (pg_stat_statements; mean and total execution, µs):"
  "${psql[@]}" "$uri" -P pager=off -c "SELECT calls, round(mean_exec_time * 1000) AS mean_us,
      round(total_exec_time * 1000) AS total_us, rows, left(regexp_replace(query, '\s+', ' ',
      'g'), 110) AS query FROM pg_stat_statements WHERE calls >= 100
      ORDER BY total_exec_time DESC LIMIT 25"
fi

end_notes
echo "full output: $build/bench_postgres_output.txt, every run as JSON:" \
  "$build/bench_postgres_results.json"
