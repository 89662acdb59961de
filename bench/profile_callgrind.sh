#!/usr/bin/env bash
# Counts instructions per operation with callgrind, for one datastore/ benchmark and variant, and
# lists the functions that account for them (inclusive). Deterministic, unlike timings on a shared
# machine; used for "where the time goes" in docs/benchmarks.md.
#
#   bench/profile_callgrind.sh Get/100KB library
#   bench/profile_callgrind.sh Set/1KB raw
#
# Needs valgrind and a built build/bench (bench/run_benchmarks.sh builds it; BUILD_DIR overrides).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build/bench}"
bench="${1:?benchmark, e.g. Get/100KB}"
variant="${2:?variant: raw, raw+json or library}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Only operations are counted (collection is on inside RunOnce), not setup or the warm-up.
valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
  '--toggle-collect=holdfast::bench::(anonymous namespace)::RunOnce(*' \
  "$build/bench/holdfast_bench" --benchmark_filter="datastore/$bench/" \
  --holdfast_variants="$variant" --benchmark_min_time=0.2 --benchmark_color=false \
  >"$out/log" 2>&1

python3 - "$out/cg" <<'PY'
import re, subprocess, sys
path = sys.argv[1]
# Operations = calls of RunOnce from RunPaired (the transform lambdas of Update are also named
# RunOnce(...)::{lambda}, so callers are checked).
names, current, ops = {}, "", 0
lines = open(path, errors="replace").read().split("\n")
for i, line in enumerate(lines):
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?", line)
    if not m:
        continue
    if m.group(3):
        names[m.group(2)] = m.group(3)
    name = names.get(m.group(2), "")
    if m.group(1) == "fn":
        current = name
    elif name.startswith("holdfast::bench::(anonymous namespace)::RunOnce(") and "RunPaired" in current:
        ops += int(lines[i + 1].split("=")[1].split()[0])
def costs(inclusive):
    args = ["callgrind_annotate", f"--inclusive={'yes' if inclusive else 'no'}", path]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    total = int(re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", out).group(1).replace(",", ""))
    rows = []
    for line in out.split("\n"):
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:(.*?)(?: \[.*\])?$", line)
        if m and "'" not in m.group(2):  # skip recursion-cycle duplicates (name'2)
            rows.append((int(m.group(1).replace(",", "")), m.group(2)))
    return total, rows

total, inclusive = costs(True)
per_op = lambda cost: cost // max(ops, 1)
print(f"{ops} operations, {per_op(total):,} instructions per operation\n")
print("inclusive, per operation:")
# The layers of an operation, outermost first; shown when the operation reaches them.
layers = [
    "holdfast::DataStore::Get(", "holdfast::DataStore::Set(", "holdfast::DataStore::Update(",
    "holdfast::bench::RawSqliteStore::Get(", "holdfast::bench::RawSqliteStore::Set(",
    "holdfast::bench::RawSqliteStore::Update(",
    "holdfast::sqlite_internal::SqliteBackend::Read(",
    "holdfast::sqlite_internal::SqliteBackend::Commit(",
    "holdfast::sqlite_internal::SqliteBackend::ApplyMutation(",
    "holdfast::sqlite_internal::SqliteTransaction::Commit(",
    "holdfast::internal::DecodeEntry(", "holdfast::internal::EncodeValue(", "holdfast::ParseJson(",
    "holdfast::ValidateJson(", "holdfast::SerializeJson", "DocumentBuilder::AddKey(",
    "boost::json::value::value(boost::json::value const&", "boost::json::value::~value()",
    "sqlite3_step",
]
for prefix in layers:
    best = max((c for c, name in inclusive if prefix in name), default=0)
    if best:
        print(f"{per_op(best):>13,}  {100 * best / total:4.0f}%  {prefix.rstrip('(')}")
print("\nself cost, top 12:")
_, exclusive = costs(False)
for cost, name in exclusive[:12]:
    print(f"{per_op(cost):>13,}  {100 * cost / total:4.0f}%  {name[:100]}")
PY
