#!/usr/bin/env bash
# Crash test of the dispatcher at full size: builds partnerd, starts it on a
# store holding N due sends (default 10,000), kills it with SIGKILL three
# times in the middle of dispatch (each time while a batch is claimed but
# not completed), restarts it, and checks that every send is in the outbox
# exactly once and none is lost. CI runs the same test with 2,000 sends as
# part of go test.
#
#   scripts/crash-dispatch.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
PARTNERD_CRASH_SENDS="${1:-10000}" exec go test -count=1 -run '^TestCrashDuringDispatch$' -v ./cmd/partnerd
