#!/usr/bin/env bash
# crash-cancel.sh builds partnerd, creates an account and N scheduled sends,
# runs a cancel load while killing the server with SIGKILL at random moments
# (20 times by default) and restarting it, then checks that every cancel
# answered OK is Canceled in the database and that PRAGMA integrity_check
# says ok. Extra arguments go to the driver (scripts/crashcancel):
#
#   scripts/crash-cancel.sh                       # 20 kills, 20000 sends
#   scripts/crash-cancel.sh -kills 50 -sends 50000 -workers 16
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/partnerd" ./cmd/partnerd
go build -o "$work/crashcancel" ./scripts/crashcancel
"$work/crashcancel" -binary "$work/partnerd" -dir "$work" "$@"
