#!/usr/bin/env bash
# bench-faces.sh BINARY [ROUNDS] [DURATION] measures the SOAP and the SendGrid
# v3 face of one partnerd binary side by side, in one sitting: SOAP Create
# (one Send per request) beside POST /v3/mail/send (one personalization,
# scheduled), and SOAP Perform (cancel, and pause/resume of a send) beside a
# batch's pause and DELETE over /v3/user/scheduled_sends. The workloads take turns ROUNDS times (default 3),
# each on a fresh store, the server pinned to core 0 and the generator to
# core 1, so that the faces are compared as ratios from the same minutes on a
# noisy machine. Prints one line per run and the median of each workload.
set -euo pipefail
bin=$(realpath "${1:?usage: scripts/bench-faces.sh BINARY [ROUNDS] [DURATION]}")
rounds=${2:-3}
duration=${3:-10s}
work=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export PARTNERD_BENCH_PASSWORD='bench-Password-1'
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start() { # start NAME: a fresh store and server; sets url, key
  local db="$work/$1-$r.db" port=$((20000 + RANDOM % 20000))
  "$bin" account add --db "$db" --username bench --password "$PARTNERD_BENCH_PASSWORD" >/dev/null
  key=$("$bin" apikey create --db "$db" --account bench --name bench 2>/dev/null)
  # The rate limits are the server's protection, not what is measured.
  taskset -c 0 "$bin" serve --db "$db" --addr "127.0.0.1:$port" --demo-account=false \
    --held-limit 0 --account-rate 0 --sendgrid-rate 100000000 >"$work/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  url="http://127.0.0.1:$port/Service.asmx"
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

measure() { # measure NAME BENCH-ARGS…: one timed run against the running server
  local name=$1 out t0 t1
  shift
  t0=$(cpu_ticks "$pid")
  out=$(taskset -c 1 "$bin" bench --url "$url" --username bench --api-key "$key" --duration "$duration" --quiet --json "$@")
  t1=$(cpu_ticks "$pid")
  echo "$out" | NAME="$name" R="$r" TICKS=$((t1 - t0)) HZ="$(getconf CLK_TCK)" python3 -c '
import json, os, sys
d = json.load(sys.stdin); l = d["latency_ms"]
cpu = int(os.environ["TICKS"]) / int(os.environ["HZ"])
print("%-10s round %s: %6.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d  server CPU %6.1f us/request" % (
    os.environ["NAME"], os.environ["R"], d["requests_per_sec"], l["p50"], l["p99"], d["errors"], 1e6 * cpu / max(d["requests"], 1)))'
}

for r in $(seq "$rounds"); do
  # The faces take turns going first, so neither always meets the larger
  # store.
  start create
  if ((r % 2)); then
    measure soap-create --workload create
    measure sg-send --workload sg-send
  else
    measure sg-send --workload sg-send
    measure soap-create --workload create
  fi
  stop
  start hold
  # Sends 1–5000 are canceled once unmeasured (cancel's steady state:
  # repeats that write nothing); 5001–10000 stay Scheduled for
  # pause-resume, which changes a send every request, as sg-hold does.
  taskset -c 1 "$bin" bench --url "$url" --username bench --workload retrieve --prepare 10000 --requests 1 --quiet >/dev/null
  taskset -c 1 "$bin" bench --url "$url" --username bench --workload cancel --ids 1-5000 --requests 5000 --quiet >/dev/null
  taskset -c 1 "$bin" bench --url "$url" --api-key "$key" --workload sg-hold --prepare-batches 2048 \
    --save-batches "$work/batches" --quiet >/dev/null 2>&1
  if ((r % 2)); then
    measure soap-cancel --workload cancel --ids 1-5000
    measure soap-pause --workload pause-resume --ids 5001-10000
    measure sg-hold --workload sg-hold --batches "$work/batches"
  else
    measure sg-hold --workload sg-hold --batches "$work/batches"
    measure soap-pause --workload pause-resume --ids 5001-10000
    measure soap-cancel --workload cancel --ids 1-5000
  fi
  stop
done | tee "$work/runs.txt"
python3 - "$work/runs.txt" <<'EOF'
import re, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+)\s+round \d+:\s+(\d+) req/s.*server CPU\s+([\d.]+)", line)
    if m:
        runs.setdefault(m.group(1), []).append((float(m.group(2)), float(m.group(3))))
print("median of each workload:")
for name, v in runs.items():
    print("  %-10s %6.0f req/s  %6.1f us server CPU per request" % (name, statistics.median(x for x, _ in v), statistics.median(c for _, c in v)))
EOF
