#!/usr/bin/env bash
# Start a throw-away PostgreSQL server (Debian's `postgresql` package) for the knowledge-base
# tests and print its SQLAlchemy URL. The server listens on a Unix socket inside DIR only (no TCP
# port), trusts local connections, and runs without fsync: test data only.
#   usage: .ci/postgres.sh [DIR]        stop: .ci/postgres.sh --stop DIR
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PGBIN" ]; then
    echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2
    exit 1
fi
RUN=()
if [ "$(id -u)" = "0" ]; then RUN=(runuser -u postgres --); fi  # initdb refuses root
if [ "${1:-}" = "--stop" ]; then
    "${RUN[@]}" "$PGBIN/pg_ctl" -D "$2/data" -m immediate stop >/dev/null
    exit 0
fi
DIR=${1:-$(mktemp -d /tmp/exomir-pg.XXXXXX)}
mkdir -p "$DIR"
chmod 700 "$DIR"
if [ "$(id -u)" = "0" ]; then chown postgres "$DIR"; fi
"${RUN[@]}" "$PGBIN/initdb" -D "$DIR/data" -A trust -U exomir -E UTF8 >/dev/null
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
    -o "-c listen_addresses='' -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
chmod 755 "$DIR"   # the socket must be reachable by the test user
"$PGBIN/createdb" -h "$DIR" -U exomir exomir_test
echo "postgresql://exomir@/exomir_test?host=$DIR"
