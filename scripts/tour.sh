#!/usr/bin/env bash
# A short scripted tour of the holdfast CLI. Usage: tour.sh HOLDFAST_BINARY STORE_URI
set -euo pipefail
hf=$1
store=$2
run() {
  printf '\n$ holdfast --store %s %s\n' "$store" "$*"
  "$hf" --store "$store" "$@"
}

run set players user_42 '{"coins":100,"inventory":["sword"]}' --user-id 42 --metadata '{"region":"eu"}'
run get players user_42 --info
run increment counters logins
run increment counters logins 5
run set players user_42 '{"coins":150,"inventory":["sword","shield"]}'
run versions players user_42
run ordered set wins alice 12
run ordered set wins bob 30
run ordered set wins carol 12
run ordered increment wins alice 5
run ordered top wins --limit 3
run ordered rank wins carol
run keys players
run stores

printf '\n$ holdfast --store %s set players %s 1   # a 51-character key is refused\n' "$store" "$(printf 'k%.0s' {1..51})"
if "$hf" --store "$store" set players "$(printf 'k%.0s' {1..51})" 1; then
  echo "tour: the over-long key was accepted" >&2
  exit 1
fi
printf '\ntour: done (store %s)\n' "$store"
