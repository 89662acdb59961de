#!/usr/bin/env bash
# Usage: install_and_build_example.sh BUILD_DIR EXAMPLES_DIR
set -euo pipefail
build_dir=$1
examples_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$examples_dir" -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
cd "$work"
output=$("$work/build/quickstart" "sqlite:$work/quickstart.db")
echo "$output"
grep -q '"coins":150' <<<"$output"
grep -q 'refused: INVALID_ARGUMENT' <<<"$output"
profiles=$("$work/build/profiles" "sqlite:$work/profiles.db")
echo "$profiles"
grep -q 'coins=10 epoch=1' <<<"$profiles"
profiles=$("$work/build/profiles" "sqlite:$work/profiles.db")
grep -q 'coins=20 epoch=2' <<<"$profiles"
evolving=$("$work/build/evolving_data" "sqlite:$work/evolving.db")
echo "$evolving"
grep -q 'v1 stored: {"name":"Ann Lee","gold":5} schema=1' <<<"$evolving"
grep -q 'v3 loaded: first=Ann last=Lee coins=5' <<<"$evolving"
grep -q 'invalid save refused: INVALID_ARGUMENT: save profiles/user_42: /coins: -1 is below the minimum 0' <<<"$evolving"
grep -q 'still stored: .*"coins":5.* schema=3' <<<"$evolving"
grep -q 'v3 stored: .*"coins":10.*"title":"Sir".* schema=3' <<<"$evolving"
