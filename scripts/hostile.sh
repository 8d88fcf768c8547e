#!/usr/bin/env bash
# hostile.sh BINARY [PHASE ...] runs bench/hostile's phases (disk rss guess
# lockout stall; all by default) against BINARY, each against a fresh server
# on a fresh store on a loopback port, so that two binaries can be measured
# in turn on the same machine:
#
#   go build -o /tmp/new ./cmd/partnerd && scripts/hostile.sh /tmp/new
#   scripts/hostile.sh /tmp/old guess && scripts/hostile.sh /tmp/new guess
set -euo pipefail
bin=$(realpath "${1:?usage: scripts/hostile.sh BINARY [disk|rss|guess|lockout|stall ...]}")
shift
phases=("$@")
((${#phases[@]})) || phases=(disk rss guess lockout stall)
cd "$(dirname "$0")/.."
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/hostile" ./bench/hostile
password='right-Password-1'
for phase in "${phases[@]}"; do
  db="$work/$phase.db"
  "$bin" account add --db "$db" --username victim --password "$password" >/dev/null
  extra=()
  [ "$phase" = stall ] && extra=(--max-inflight 8 --write-timeout 10s)
  port=$((20000 + RANDOM % 20000))
  "$bin" serve --db "$db" --addr "127.0.0.1:$port" --demo-account=false "${extra[@]}" >"$work/$phase.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$work/hostile" --url "http://127.0.0.1:$port/Service.asmx" --username victim --password "$password" \
    --pid "$pid" --db "$db" "$phase" || echo "phase $phase failed; server log: $(tail -5 "$work/$phase.log")"
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  pid=
done
