#!/usr/bin/env bash
# Model-checks models/holdfast_session.pml (docs/model.md) with spin and checks every verdict:
#   - the protocol as implemented verifies (no errors, search complete) in two configurations;
#   - every planted bug (mutant) and every documented finding produces a counterexample for
#     the property it is meant to break;
#   - every vacuity probe is reached (the model really exercises those paths).
# Exits non-zero on any unexpected verdict. Installs spin (Debian package) when it is missing.
# Works in a temporary directory; leaves nothing in the repository.
#
# Usage: scripts/check-model.sh [--traces] [--deep]
#   --traces  also print the shortest counterexample of every mutant and finding (BFS)
#   --deep    also verify larger configurations (more epochs, crashes, messages; minutes)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
model="$root/models/holdfast_session.pml"
traces=0
deep=0
for arg in "$@"; do
  case "$arg" in
    --traces) traces=1 ;;
    --deep) deep=1 ;;
    -h | --help)
      sed -n '2,12p' "$0"
      exit 0
      ;;
    *)
      echo "check-model: unknown argument $arg" >&2
      exit 2
      ;;
  esac
done

if ! command -v spin >/dev/null 2>&1; then
  echo "check-model: spin is missing, installing the Debian package" >&2
  if [[ $(id -u) -eq 0 ]]; then SUDO=; else SUDO=sudo; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq spin >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq spin >/dev/null; }
fi
command -v spin >/dev/null || { echo "check-model: spin could not be installed" >&2; exit 1; }
command -v gcc >/dev/null || { echo "check-model: gcc is missing" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/holdfast-model.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

# run NAME OPT EXPECT PATTERN [spin -D flags...]
#   OPT: gcc optimisation level (-O2 for the long exhaustive runs, -O0 compiles 10x faster
#   for runs that stop at a counterexample). EXPECT: "pass" or "fail"; PATTERN: for "fail",
#   an extended regex the violated assertion must match.
run() {
  local name=$1 opt=$2 expect=$3 pattern=$4
  shift 4
  local dir="$work/$name"
  mkdir -p "$dir"
  cp "$model" "$dir/m.pml"
  local start end
  start=$(date +%s.%N)
  if ! (cd "$dir" && spin -a "$@" m.pml >spin.txt 2>&1 &&
    gcc -w "$opt" -DSAFETY -DCOLLAPSE -DMEMLIM=2048 -o pan pan.c >gcc.txt 2>&1); then
    echo "FAIL  $name: the model does not build with $*" >&2
    cat "$dir/spin.txt" "$dir/gcc.txt" >&2 || true
    failures=$((failures + 1))
    return
  fi
  (cd "$dir" && ./pan -m20000 >pan.txt 2>&1) || true
  end=$(date +%s.%N)
  local out="$dir/pan.txt"
  local errors states violated
  errors=$(sed -n 's/.*errors: \([0-9]*\).*/\1/p' "$out" | head -1)
  states=$(sed -n 's/^ *\([0-9e.+]*\) states, stored.*/\1/p' "$out" | head -1)
  violated=$(grep -m1 -E 'assertion violated|invalid end state|acceptance cycle' "$out" || true)
  local secs
  secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  local verdict=ok
  if [[ -z "$errors" ]]; then
    verdict="no verdict from pan"
  elif [[ "$expect" == pass ]]; then
    if [[ "$errors" != 0 ]]; then
      verdict="expected no errors, got $errors: $violated"
    elif grep -qE 'max search depth too small|out of memory|reached -DMEMLIM' "$out"; then
      verdict="the search was incomplete: $(grep -m1 -E 'depth too small|memory|MEMLIM' "$out")"
    fi
  else
    if [[ "$errors" == 0 ]]; then
      verdict="expected a counterexample, found none"
    elif ! grep -qE "$pattern" <<<"$violated"; then
      verdict="expected a violation matching /$pattern/, got: $violated"
    fi
  fi
  if [[ "$verdict" == ok ]]; then
    if [[ "$expect" == pass ]]; then
      local search mem
      search=$(sed -n 's/^pan: elapsed time \([0-9.e+]*\) seconds/\1/p' "$out" | head -1)
      mem=$(sed -n 's/^ *\([0-9.]*\)[[:space:]]*total actual memory usage.*/\1/p' "$out" | head -1)
      printf 'ok    %-26s verified: %s states, search %ss, %s MB, %ss with build  (%s)\n' \
        "$name" "$states" "$search" "$mem" "$secs" "${*:-default}"
    else
      printf 'ok    %-26s counterexample: %s\n' "$name" \
        "$(sed -e 's/^pan:[0-9]*: *//' -e 's/ (at depth.*//' <<<"$violated" | cut -c1-90)"
    fi
  else
    printf 'FAIL  %-26s %s\n' "$name" "$verdict" >&2
    failures=$((failures + 1))
  fi
  if [[ "$expect" == fail && $traces -eq 1 ]]; then
    shortest "$name" "$@"
  fi
}

# Breadth-first search finds the shortest counterexample; BFS cannot use hidden variables, so
# the copy makes them ordinary ones.
shortest() {
  local name=$1
  shift
  local dir="$work/$name-bfs"
  mkdir -p "$dir"
  sed 's/^hidden //' "$model" >"$dir/m.pml"
  (cd "$dir" && spin -a "$@" m.pml >/dev/null 2>&1 &&
    gcc -w -O0 -DSAFETY -DBFS -DMEMLIM=2048 -o pan pan.c >/dev/null 2>&1 &&
    ./pan >pan.txt 2>&1 || true)
  if [[ -f "$dir/m.pml.trail" ]]; then
    { (cd "$dir" && spin -t "$@" m.pml 2>&1) |
      grep -E 'MSG:|text of failed assertion' |
      sed -e 's/^ *//' -e 's/MSG: //' -e 's/spin: m.pml:[0-9]*, Error: assertion violated//' \
        -e 's/: \{2,\}/: /' -e 's/^/        /'; } || true
  fi
}

assert_fence='s_owner\[[01]\]==s'
item='s_item\[0\]\+s_item\[1\]'
coins='s_coins\[0\]\+s_coins\[1\]'

echo "== the protocol as implemented (must verify)"
run correct -O2 pass ''
run correct-2-messages -O2 pass '' -DNM=2 -DMAXE=2
run correct-trade-retry -O0 pass '' -DTRADE_UNKNOWN_RETRIES

echo "== planted bugs (each must produce a counterexample)"
run unfenced-save -O0 fail "$assert_fence|$item|$coins" -DUNFENCED
run trade-as-two-saves -O0 fail "$item|$coins" -DSEQUENTIAL
run blind-retry -O0 fail "failed_trade_is_not_applied|$item|$coins" -DBLIND_RETRY
run ack-before-commit -O0 fail "acked_trade_is_committed|$item|$coins" -DACK_EARLY

echo "== findings about the implementation (docs/model.md F1-F5: counterexamples expected)"
run F1-trade-unknown-restores -O0 fail "$item|$coins" -DTRADE_UNKNOWN_RESTORES
run F2-renew-marks-processed -O0 fail "$coins" -DRENEW_CARRIES_PROCESSED
run F3-processed-memory -O0 fail 'added\[[01]\]<=1' -DNM=2 -DPROC_MEM=1
run F5-trade-data-only -O0 fail "$coins" -DTRADE_DATA_ONLY

echo "== vacuity probes (each event must be reachable)"
for k in 1 2 3 4 5 6 7; do
  run "probe-$k" -O0 fail 'violated 0|assert\(0\)' -DPROBE=$k
done

if [[ $deep -eq 1 ]]; then
  echo "== deep configurations"
  run deep-epochs-4-crashes-2 -O2 pass '' -DMAXE=4 -DMAXC=2
  run deep-2-messages-epochs-3 -O2 pass '' -DNM=2 -DMAXE=3
fi

if ((failures > 0)); then
  echo "check-model: $failures unexpected verdict(s)" >&2
  exit 1
fi
echo "check-model: all verdicts as expected"
