#!/usr/bin/env bash
# Installs what is missing, builds the CLI, and runs the main job on the embedded SQLite store
# (./holdfast.db): a short scripted tour of the holdfast CLI, then `holdfast demo` — several
# game-server processes sharing the store, players trading and hopping servers, one server killed
# mid-way, and a report that checks no item was duplicated (docs/duplication-test.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build/release" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build/release" -j "$(nproc)" --target holdfast_cli
"$root/scripts/tour.sh" "$root/build/release/src/cli/holdfast" "sqlite:holdfast.db"
printf '\n$ holdfast --store sqlite:holdfast.db demo\n'
exec "$root/build/release/src/cli/holdfast" --store sqlite:holdfast.db demo
