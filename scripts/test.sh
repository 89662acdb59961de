#!/usr/bin/env bash
# Installs what is missing, then builds and runs every test three ways:
#   1. TSan over the concurrency tests (label "concurrency");
#   2. ASan + UBSan over the whole suite;
#   3. a normal build over the whole suite (plus the installed-package example).
# Warnings are errors in every build. ctest prints each summary; the last one is the full suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

jobs=${HOLDFAST_JOBS:-$(nproc)}
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

echo "== ASan + UBSan: whole suite"
configure build/asan -DCMAKE_BUILD_TYPE=Debug -DHOLDFAST_SANITIZE=address \
  -DHOLDFAST_BUILD_BENCH=OFF
cmake --build build/asan -j "$jobs"
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1" \
  ctest --test-dir build/asan -j "$jobs" --timeout 600

echo "== Normal build: whole suite"
configure build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/release -j "$jobs"
ctest --test-dir build/release -j "$jobs" --timeout 600
