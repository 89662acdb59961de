#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for tests and benchmarks: initdb in a fresh directory, a
# loopback port, fsync on, run as the `postgres` user when invoked as root (PostgreSQL refuses
# to run as root). Stopped by its postmaster PID, never by name.
#
#   scripts/pg-cluster.sh start DIR   creates DIR, starts the server, writes DIR/uri and prints it
#   scripts/pg-cluster.sh stop DIR    fast shutdown of the server started in DIR, then removes DIR
#   scripts/pg-cluster.sh kill DIR    kill -9 of the postmaster (crash test), DIR kept
#   scripts/pg-cluster.sh halt DIR    fast shutdown, DIR kept
#   scripts/pg-cluster.sh restart DIR starts the server in DIR again on the same port
#
# The URI names database `holdfast` and user `holdfast` (trust auth on loopback only).
# PG_SERVER_OPTIONS: extra server options for start and restart, e.g. "-c
# shared_preload_libraries=pg_stat_statements" (bench/run_postgres_benchmarks.sh STATEMENT_STATS).
set -euo pipefail

bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg-cluster.sh start|stop|kill|restart DIR}
dir=${2:?usage: pg-cluster.sh start|stop|kill|restart DIR}

as_owner() {  # runs a command as the cluster's owner
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

postmaster_pid() { head -1 "$dir/data/postmaster.pid" 2>/dev/null || true; }

wait_ready() {  # wait_ready PORT
  for _ in $(seq 1 200); do
    if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$1" -d postgres 2>/dev/null; then return 0; fi
    if ! kill -0 "$(cat "$dir/launcher.pid")" 2>/dev/null; then return 1; fi
    sleep 0.05
  done
  return 1
}

launch() {  # launch PORT: starts the postmaster in the background; 0 when it accepts connections
  local port=$1 extra
  read -r -a extra <<<"${PG_SERVER_OPTIONS:-}"  # words: options and their values
  as_owner "$bindir/postgres" -D "$dir/data" -p "$port" -k "$dir/socket" \
    -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c full_page_writes=on \
    -c max_connections=200 -c shared_buffers=64MB -c log_min_messages=warning \
    "${extra[@]}" >>"$dir/server.log" 2>&1 &
  echo $! >"$dir/launcher.pid"
  wait_ready "$port"
}

start() {
  if [[ -e $dir ]]; then
    echo "pg-cluster: $dir already exists" >&2
    exit 1
  fi
  mkdir -p "$dir/data" "$dir/socket"
  if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$dir"; fi
  chmod 700 "$dir/data"
  as_owner "$bindir/initdb" -D "$dir/data" -U holdfast --auth=trust --no-sync -E UTF8 \
    --locale=C >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
  local port
  for _ in $(seq 1 20); do
    port=$((20000 + RANDOM % 20000))
    if launch "$port"; then
      echo "$port" >"$dir/port"
      as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U holdfast holdfast
      echo "postgres://holdfast@127.0.0.1:$port/holdfast" >"$dir/uri"
      cat "$dir/uri"
      return 0
    fi
    # Port taken (or a slow start): stop whatever we launched and try another port.
    kill "$(cat "$dir/launcher.pid")" 2>/dev/null || true
    wait "$(cat "$dir/launcher.pid")" 2>/dev/null || true
  done
  echo "pg-cluster: the server did not start; log:" >&2
  tail -20 "$dir/server.log" >&2
  exit 1
}

halt() {  # halt [SIGNAL]: INT is a fast shutdown, QUIT an immediate one (no checkpoint)
  local pid
  pid=$(postmaster_pid)
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill "-${1:-INT}" "$pid"
    for _ in $(seq 1 200); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
  fi
  return 0
}

stop() {
  [[ -d $dir ]] || return 0
  halt QUIT  # the data is thrown away: skip the shutdown checkpoint
  rm -rf "$dir"
}

restart() {
  # After a kill -9 the old server processes take a moment to notice and exit; until then the
  # new postmaster refuses to start (shared memory still in use).
  for _ in $(seq 1 40); do
    if launch "$(cat "$dir/port")"; then return 0; fi
    sleep 0.25
  done
  echo "pg-cluster: restart failed; log:" >&2
  tail -20 "$dir/server.log" >&2
  exit 1
}

case $cmd in
  start) start ;;
  stop) stop ;;
  halt) halt ;;
  kill)
    pid=$(postmaster_pid)
    if [[ -n $pid ]]; then kill -KILL "$pid"; fi
    ;;
  restart) restart ;;
  *)
    echo "pg-cluster: unknown command $cmd" >&2
    exit 2
    ;;
esac
