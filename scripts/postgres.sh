#!/usr/bin/env bash
# A throwaway PostgreSQL server for the shared vote journal's tests, from
# Debian's `postgresql` package, independent of any cluster the package set
# up: its own data directory, 127.0.0.1 on a free port, its socket in DIR.
#
#   scripts/postgres.sh start DIR   initdb DIR/data once, start the server on
#                                   the port in DIR/port (a free one the first
#                                   time), print its postgres:// URL
#   scripts/postgres.sh stop DIR    stop it (immediately; the data stays, so
#                                   `start DIR` brings the same server back)
#
# PostgreSQL refuses to run as root, so as root everything runs as the
# `postgres` user the package creates, and DIR is handed to it. Every step is
# bounded in time.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1
dir=$(realpath -m "$2")

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
    echo "$0: no PostgreSQL server under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2
    exit 1
fi

as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        # From a directory the postgres user can read, or initdb complains.
        (cd / && timeout 60 runuser -u postgres -- "$@")
    else
        (cd / && timeout 60 "$@")
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case $action in
start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$dir"; fi
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    for attempt in 1 2 3 4 5; do
        if [ -f "$dir/port" ]; then
            port=$(cat "$dir/port")
        else
            port=$((20000 + RANDOM % 40000))
            port_in_use "$port" && continue
        fi
        if as_owner "$bin/pg_ctl" start -D "$dir/data" -w -t 30 -l "$dir/server.log" \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir" >/dev/null; then
            echo "$port" >"$dir/port"
            echo "postgres://postgres@127.0.0.1:$port/postgres"
            exit 0
        fi
        # Another process took the port between the probe and the start.
        [ -f "$dir/port" ] && break
    done
    echo "$0: the server did not start; its log:" >&2
    tail -n 20 "$dir/server.log" >&2 || true
    exit 1
    ;;
stop)
    [ -f "$dir/data/postmaster.pid" ] || exit 0
    as_owner "$bin/pg_ctl" stop -D "$dir/data" -m immediate -w -t 30 >/dev/null
    ;;
*) usage ;;
esac
