#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test:
#   1. TSan over the concurrency tests (label "concurrency");
#   2. a normal (RelWithDebInfo) build for what sanitizer builds cannot run: the installed-package
#      example (label "install": an instrumented library cannot link into a plain program) and
#      the spin model check (label "model": nothing of ours is compiled, so it runs once);
#   3. ASan + UBSan over the whole suite, last, so the closing ctest summary is the whole suite.
# Warnings are errors in every build. Tests that need PostgreSQL start a throw-away cluster
# themselves (ctest fixture postgres_cluster, scripts/pg-cluster.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

jobs=${HOLDFAST_JOBS:-$(nproc)}
# ccache keys on paths relative to the checkout, so a fresh clone in another folder (CI) reuses
# the objects an earlier build of the same sources left in the cache.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
export CTEST_OUTPUT_ON_FAILURE=1

configure() {  # configure DIR [cmake args...]
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja -DHOLDFAST_WERROR=ON "$@" >/dev/null
}

echo "== TSan: concurrency tests"
configure build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOLDFAST_SANITIZE=thread \
  -DHOLDFAST_BUILD_BENCH=OFF
cmake --build build/tsan -j "$jobs" --target concurrency_tests
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --test-dir build/tsan -L concurrency -j "$jobs" --timeout 600

echo "== Normal build: installed package and model check"
configure build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHOLDFAST_BUILD_BENCH=OFF
cmake --build build/release -j "$jobs" --target holdfast_cli
ctest --test-dir build/release -L "install|model" -j "$jobs" --timeout 900

echo "== ASan + UBSan: whole suite"
configure build/asan -DCMAKE_BUILD_TYPE=Debug -DHOLDFAST_SANITIZE=address \
  -DHOLDFAST_BUILD_BENCH=OFF
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" \
  ctest --test-dir build/asan -j "$jobs" --timeout 900
