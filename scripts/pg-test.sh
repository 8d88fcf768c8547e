#!/usr/bin/env bash
# Runs a command against a throw-away PostgreSQL 15 server:
#
#   scripts/pg-test.sh go test ./store/... ./server/...
#
# starts a server from Debian's packages (/usr/lib/postgresql/15/bin;
# installed with apt-get when missing and run as root, otherwise it says
# what to install), initialised by the postgres user in a new directory
# under /tmp, listening on a free port of 127.0.0.1 and a socket directory
# under /tmp; runs the command with PARTNERD_TEST_STORE set to the server's
# URL; and stops the server and removes its directory when the command
# ends, however it ends. The command's exit status is the script's.
# Without a command it prints the URL and serves until interrupted.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing postgresql-15" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  else
    echo "missing: PostgreSQL 15 server ($PGBIN/initdb) — run: sudo apt-get install -y postgresql-15" >&2
    exit 1
  fi
fi

# initdb refuses to run as root: the server runs as postgres (or as the
# calling user, when that is not root).
run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  run_as=(su postgres -s /bin/sh -c)
else
  run_as=(sh -c)
fi
as_server() { "${run_as[@]}" "$1"; }

dir=$(mktemp -d /tmp/partnerd-pg.XXXXXX)
chmod 0755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
data="$dir/data"
sock="$dir"

# A free port: bound by the kernel, then released for the server.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
  shuf -i 20000-60000 -n 1)

stop() {
  as_server "'$PGBIN/pg_ctl' -D '$data' -m immediate -w stop" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 130' INT TERM

as_server "'$PGBIN/initdb' -D '$data' -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync" >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
# synchronous_commit stays on (the store asks for it anyway); fsync off
# by default, only because this server lives for one test run and dies
# with it (PG_FSYNC=on for figures worth comparing).
as_server "'$PGBIN/pg_ctl' -D '$data' -l '$dir/server.log' -w -t 60 start -o \"-h 127.0.0.1 -p $port -k '$sock' -c max_connections=300 -c fsync=${PG_FSYNC:-off} -c full_page_writes=${PG_FSYNC:-off} -c shared_buffers=64MB\"" >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }

url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export PARTNERD_TEST_STORE="$url"
# The same server through its Unix socket, for scripts/bench-instances.sh.
export PARTNERD_TEST_STORE_SOCKET="postgres://postgres@/postgres?host=$sock&port=$port&sslmode=disable"
echo "== PostgreSQL on $url (data $data)" >&2
if [ $# -eq 0 ]; then
  echo "PARTNERD_TEST_STORE=$url"
  echo "serving until interrupted" >&2
  while sleep 3600; do :; done
fi
"$@"
