#!/usr/bin/env bash
# ab-cancel.sh OLD NEW [ROUNDS] measures `partnerd bench --workload cancel`
# against two partnerd binaries taking turns (OLD, NEW, OLD, NEW …), each on
# a fresh store, the server pinned to core 0 and the generator to core 1, so
# that a change's effect is read as a ratio from one sitting on a noisy
# machine. The 10,000 Sends are canceled once unmeasured first (the steady
# state: repeat cancels), as bench/compare does.
set -euo pipefail
old=$(realpath "${1:?usage: scripts/ab-cancel.sh OLD NEW [ROUNDS]}")
new=$(realpath "${2:?usage: scripts/ab-cancel.sh OLD NEW [ROUNDS]}")
rounds=${3:-3}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export PARTNERD_BENCH_PASSWORD='bench-Password-1'
# cpu_ticks PID: the process's user+system CPU time in clock ticks; per
# request it is steadier than throughput on a shared machine.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() { # run NAME BINARY
  local db="$work/$1-$r.db" port=$((20000 + RANDOM % 20000))
  "$2" account add --db "$db" --username bench --password "$PARTNERD_BENCH_PASSWORD" >/dev/null
  taskset -c 0 "$2" serve --db "$db" --addr "127.0.0.1:$port" --demo-account=false \
    --held-limit 0 --account-rate 0 >"$work/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  local url="http://127.0.0.1:$port/Service.asmx"
  taskset -c 1 "$2" bench --url "$url" --username bench --workload cancel --prepare 10000 --requests 10000 --quiet >/dev/null
  local out t0 t1
  t0=$(cpu_ticks "$pid")
  out=$(taskset -c 1 "$2" bench --url "$url" --username bench --workload cancel --ids 1-10000 --duration 15s --quiet --json)
  t1=$(cpu_ticks "$pid")
  echo "$1 round $r: $(echo "$out" | TICKS=$((t1 - t0)) HZ="$(getconf CLK_TCK)" python3 -c 'import json,os,sys; d=json.load(sys.stdin); l=d["latency_ms"]; cpu=int(os.environ["TICKS"])/int(os.environ["HZ"]); print("%.0f req/s p50 %.2f ms p99 %.2f ms errors %d; server CPU %.1f us/request" % (d["requests_per_sec"], l["p50"], l["p99"], d["errors"], 1e6*cpu/max(d["requests"],1)))')"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}
for r in $(seq "$rounds"); do
  run old "$old"
  run new "$new"
done
