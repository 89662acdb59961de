#!/usr/bin/env bash
# Installs what is missing, builds the CLI, and runs the main job on the embedded SQLite store
# (./holdfast.db): a short scripted tour of the holdfast CLI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$root/build/release" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build/release" -j "$(nproc)" --target holdfast_cli
exec "$root/scripts/tour.sh" "$root/build/release/src/cli/holdfast" "sqlite:holdfast.db"
