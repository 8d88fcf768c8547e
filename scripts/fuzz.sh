#!/usr/bin/env bash
# fuzz.sh runs every parser fuzz target of partnerd for a while each and
# prints the executions and findings. It is not part of CI: fuzzing needs
# minutes per target to be worth anything.
#
#   scripts/fuzz.sh            # 10 minutes per target
#   scripts/fuzz.sh 2m         # or FUZZTIME=2m scripts/fuzz.sh
#   FUZZ_PARALLEL=1 scripts/fuzz.sh 30s
#
# A crashing input is written by Go to <package>/testdata/fuzz/<Target>/,
# where every later `go test` replays it as a regression test: commit it
# with the fix. The script exits non-zero when any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime=${1:-${FUZZTIME:-10m}}
parallel=()
if [[ -n "${FUZZ_PARALLEL:-}" ]]; then
	parallel=(-parallel "$FUZZ_PARALLEL")
fi

# package target
targets=(
	"./api/soap FuzzReadEnvelope"
	"./api/soap FuzzCheckShape"
	"./api/soap FuzzParseCommon"
	"./api/soap FuzzDecodeBody"
	"./api/soap FuzzReadHead"
	"./api/soap/wsse FuzzParse"
	"./api/soap/wsse FuzzMaskSecrets"
	"./api/soap/wsse FuzzMaskNoSecretSurvives"
	"./api/partnerapi FuzzReadFilter"
	"./store/internal/sqlcodec FuzzPackBody"
	"./store/internal/sqlcodec FuzzDecodeListIDs"
	"./api/sendgrid FuzzDecodeMailSend"
	"./api/sendgrid FuzzEndpoints"
	"./auth FuzzParseKeyToken"
	"./api/fuelauth FuzzTokenEndpoints"
	"./internal/envcheck FuzzCheckEnvelope"
	"./internal/goldencase FuzzParseCase"
	"./api/console FuzzHighlight"
	"./internal/replay FuzzParseJSONRequest"
)

logdir=$(mktemp -d)
summary=()
failed=0
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	if ! list=$(go test -list "^${name}\$" "$pkg" 2>&1); then
		failed=1
		echo "$list" | tail -n 20
		summary+=("$(printf '%-18s %-22s %s' "$pkg" "$name" "does not build")")
		continue
	fi
	if ! grep -qx "$name" <<<"$list"; then
		summary+=("$(printf '%-18s %-22s %s' "$pkg" "$name" "not found (skipped)")")
		continue
	fi
	log="$logdir/$name.log"
	echo "== $pkg $name for $fuzztime"
	# -timeout 0: with the default 10m test timeout, -fuzztime 10m ends in a
	# spurious "context deadline exceeded" failure.
	go test -timeout 0 -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$pkg" >"$log" 2>&1
	rc=$?
	# The last progress line has the totals:
	# "fuzz: elapsed: 2m0s, execs: 1234567 (10288/sec), new interesting: 12 (total: 40)"
	progress=$(grep -E '^fuzz: elapsed: .*execs:' "$log" | tail -n 1)
	execs=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$progress")
	interesting=$(sed -nE 's/.*new interesting: ([0-9]+).*/\1/p' <<<"$progress")
	if [[ $rc -eq 0 ]]; then
		result="ok"
	else
		failed=1
		crasher=$(sed -nE 's/.*Failing input written to (.*)$/\1/p' "$log" | tail -n 1)
		result="FAILED${crasher:+, input kept in $pkg/$crasher}"
		tail -n 40 "$log"
	fi
	summary+=("$(printf '%-18s %-22s execs %-12s new interesting %-5s %s' "$pkg" "$name" "${execs:-?}" "${interesting:-?}" "$result")")
done

echo
echo "fuzzed $fuzztime per target (logs in $logdir):"
printf '%s\n' "${summary[@]}"
exit $failed
