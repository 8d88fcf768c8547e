#!/usr/bin/env bash
# Figures for several partnerd instances on PostgreSQL, from one sitting:
#
#   PG_FSYNC=on scripts/pg-test.sh scripts/bench-instances.sh
#
# cancel throughput (partnerd bench --workload cancel, 10,000 sends canceled
# once unmeasured first, as scripts/ab-cancel.sh does) on SQLite, on
# PostgreSQL with one server and with two servers (two bench processes, one
# per server, each on half of the sends and half the clients), with the CPU
# each process used (from /proc: the servers', the PostgreSQL backends');
# lock waits sampled from pg_stat_activity and pg_locks during the
# two-server run; a CPU profile of the one-server PostgreSQL cancel (serve
# --cpuprofile); and dispatch throughput on PostgreSQL with one and two
# servers (the prepared sends made due at once, timed until all are in the
# outbox). Under scripts/pg-test.sh the one-server PostgreSQL run is made
# twice, through TCP and through the server's Unix socket. Each store is a
# fresh schema of the database PARTNERD_TEST_STORE
# names. On a shared machine the figures move from run to run: read the
# ratios of one sitting.
#
# BENCH_ONLY=one runs only SQLite and one PostgreSQL server, BENCH_ROUNDS
# times in alternation (2 by default), for A/B comparisons of a change;
# BENCH_DURATION and BENCH_SENDS shorten a run.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PARTNERD_TEST_STORE:?run it under scripts/pg-test.sh}"
dur=${BENCH_DURATION:-10s}
n=${BENCH_SENDS:-10000}
work=$(mktemp -d)
# BENCH_BIN runs a binary built before (an A/B: the script once per
# binary, in turns); by default the script builds the tree it is in.
bin=${BENCH_BIN:-$work/partnerd}
[ -n "${BENCH_BIN:-}" ] || go build -o "$bin" ./cmd/partnerd
export PARTNERD_BENCH_PASSWORD='bench-Password-1'
export PARTNERD_SECRET_KEY
PARTNERD_SECRET_KEY=$(head -c 32 /dev/urandom | base64)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
hz=$(getconf CLK_TCK)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# pgticks: CPU ticks of every PostgreSQL server process so far.
pgticks() { local s=0 p; for p in $(pgrep -u postgres -x postgres); do s=$((s + $(ticks "$p" 2>/dev/null || echo 0))); done; echo "$s"; }
schema() { psql -q "$PARTNERD_TEST_STORE" -c "CREATE SCHEMA $1_$$" >/dev/null; echo "$PARTNERD_TEST_STORE&search_path=$1_$$"; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# start DB LOG ARGS…: a server on a free port: sets port and pid.
start() {
  local db=$1 log=$2
  shift 2
  port=$(freeport)
  "$bin" serve --db "$db" --addr "127.0.0.1:$port" --demo-account=false --held-limit 0 --account-rate 0 \
    --max-inflight 0 "$@" >"$log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
url() { echo "http://127.0.0.1:$1/Service.asmx"; }
summary() { # JSON on stdin → "N req/s p50 p99 errors"
  python3 -c 'import json,sys; d=json.load(sys.stdin); l=d["latency_ms"]; print("%d %.0f %.2f %.2f %d" % (d["requests"], d["requests_per_sec"], l["p50"], l["p99"], d["errors"]))'
}
# xacts: the database's committed and rolled back transactions so far.
xacts() { psql -Atq -F' ' "$PARTNERD_TEST_STORE" -c "SELECT pg_stat_clear_snapshot(); SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = current_database()" | tail -1; }
us_per() { python3 -c "print('%.0f' % (1e6*$1/$hz/max($2,1)))"; }

prepare() { # prepare PORT: n sends, canceled once unmeasured
  "$bin" bench --url "$(url "$1")" --username bench --workload cancel --prepare "$n" --requests "$n" --quiet >/dev/null
}

one() { # one NAME DB [serve args…]: one server, one bench
  local name=$1 db=$2 t0 p0 out
  shift 2
  "$bin" account add --db "$db" --username bench --password "$PARTNERD_BENCH_PASSWORD" >/dev/null
  start "$db" "$work/$name.log" "$@"
  prepare "$port"
  t0=$(ticks "$pid") p0=$(pgticks)
  read -r c0 r0 < <(xacts)
  out=$("$bin" bench --url "$(url "$port")" --username bench --workload cancel --ids "1-$n" --duration "$dur" --quiet --json | summary)
  read -r req rps p50 p99 errs <<<"$out"
  read -r c1 r1 < <(xacts)
  echo "cancel $name: $rps req/s (p50 $p50 ms, p99 $p99 ms, $errs errors); server CPU $(us_per $(($(ticks "$pid") - t0)) "$req") us/request, PostgreSQL CPU $(us_per $(($(pgticks) - p0)) "$req") us/request; PostgreSQL commits $(((c1 - c0) / req)).$(((c1 - c0) * 10 / req % 10))/request, rollbacks $((r1 - r0))"
  stop "$pid"
}

echo "== $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL fsync=${PG_FSYNC:-off}"
if [ "${BENCH_ONLY:-}" = one ]; then
  for r in $(seq "${BENCH_ROUNDS:-2}"); do
    one "sqlite-r$r" "sqlite:$work/bench$r.db"
    one "postgres-1-r$r" "$(schema "bench_r$r")"
  done
  exit 0
fi
one sqlite "sqlite:$work/bench.db"
one postgres-1 "$(schema bench_pg1)" --cpuprofile "$work/pg.prof"
if [ -n "${PARTNERD_TEST_STORE_SOCKET:-}" ]; then
  # The same, through the server's Unix socket instead of TCP.
  one postgres-1-socket "$(PARTNERD_TEST_STORE=$PARTNERD_TEST_STORE_SOCKET schema bench_pg1s)"
fi

# Two servers, one database.
db=$(schema bench_pg2)
"$bin" account add --db "$db" --username bench --password "$PARTNERD_BENCH_PASSWORD" >/dev/null
start "$db" "$work/a.log"; pa=$port ppa=$pid
start "$db" "$work/b.log"; pb=$port ppb=$pid
prepare "$pa"
half=$((n / 2))
(while sleep 0.2; do
  psql -Atq "$PARTNERD_TEST_STORE" -c "SELECT 'wait ' || coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '-') FROM pg_stat_activity WHERE application_name = 'partnerd' AND state = 'active' AND pid <> pg_backend_pid()
    UNION ALL SELECT 'lock-waiting ' || locktype || ' ' || mode FROM pg_locks WHERE NOT granted" 2>/dev/null || true
done) >"$work/samples" &
sampler=$!
ta=$(ticks "$ppa") tb=$(ticks "$ppb") p0=$(pgticks)
"$bin" bench --url "$(url "$pa")" --username bench --workload cancel --ids "1-$half" --concurrency 32 --duration "$dur" --quiet --json >"$work/ra.json" &
ba=$!
"$bin" bench --url "$(url "$pb")" --username bench --workload cancel --ids "$((half + 1))-$n" --concurrency 32 --duration "$dur" --quiet --json >"$work/rb.json"
wait "$ba"
kill "$sampler" 2>/dev/null || true
read -r reqa rpsa p50a p99a errsa < <(summary <"$work/ra.json")
read -r reqb rpsb p50b p99b errsb < <(summary <"$work/rb.json")
echo "cancel postgres-2: $((rpsa + rpsb)) req/s ($rpsa + $rpsb; p50 $p50a/$p50b ms, p99 $p99a/$p99b ms, $((errsa + errsb)) errors); server CPU $(us_per $(($(ticks "$ppa") - ta)) "$reqa")/$(us_per $(($(ticks "$ppb") - tb)) "$reqb") us/request, PostgreSQL CPU $(us_per $(($(pgticks) - p0)) $((reqa + reqb))) us/request"
samples=$(grep -c . "$work/samples" || true)
echo "active partnerd backends sampled every 0.2 s during the two-server run ($samples observations):"
sort "$work/samples" | uniq -c | sort -rn | head -15
stop "$ppa"
stop "$ppb"

# Dispatch: n scheduled sends made due at once, with one and with two
# servers dispatching; timed until every one is in the outbox.
for servers in 1 2; do
  s=bench_dispatch${servers}_$$ # the schema schema() makes
  db=$(schema "bench_dispatch$servers")
  "$bin" account add --db "$db" --username bench --password "$PARTNERD_BENCH_PASSWORD" >/dev/null
  start "$db" "$work/d.log"
  "$bin" bench --url "$(url "$port")" --username bench --workload retrieve --prepare "$n" --requests 1 --quiet >/dev/null
  stop "$pid"
  psql -q "$PARTNERD_TEST_STORE" -c "UPDATE $s.sends SET send_date = (extract(epoch from now()) * 1e6)::bigint - 1000000" >/dev/null
  t0=$(date +%s.%N)
  dp=()
  for _ in $(seq "$servers"); do start "$db" "$work/d$servers.log"; dp+=("$pid"); done
  while [ "$(psql -Atq "$PARTNERD_TEST_STORE" -c "SELECT count(*) FROM $s.outbox")" -lt "$n" ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  echo "dispatch postgres-$servers: $n sends in $(python3 -c "print('%.2f s, %.0f sends/s' % ($t1 - $t0, $n / ($t1 - $t0)))") (from the servers' start)"
  for p in "${dp[@]}"; do stop "$p"; done
done

echo "== where a PostgreSQL cancel spends its CPU (serve --cpuprofile, one server)"
go tool pprof -top -nodecount=25 "$bin" "$work/pg.prof" 2>/dev/null | sed -n '1,32p'
