#!/usr/bin/env bash
# interop/run.sh: proves that independent SOAP stacks work against partnerd unchanged.
#
# Builds the real partnerd binary, starts it on a free port with a fresh database and a test
# account, and runs every client stack through the same scenario (see interop/README.md), each
# once with a client built from the server's ?wsdl and once from the full reference
# etframework.wsdl (endpoint overridden), each with a PasswordText and a PasswordDigest
# UsernameToken. Prints `interop: <stack>: N passed, N failed` per stack and closes with
# `N passed, N failed`; exits non-zero on any failure. Run interop/setup.sh first.
#
# Environment: INTEROP_REFERENCE_WSDL (default ../shared/reference/etframework.wsdl from the repo
# root), INTEROP_KEEP=1 to keep the work directory (kept anyway when something failed),
# INTEROP_STACKS="asmx zeep ..." to run only some stacks.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
ref_src=${INTEROP_REFERENCE_WSDL:-$root/../shared/reference/etframework.wsdl}
stacks_wanted=${INTEROP_STACKS:-asmx wcf-basic wcf-soap12 zeep suds node go sendgrid fuel}
py=/usr/bin/python3 # Debian's python3 with python3-zeep/python3-suds, not a pyenv one
user=interop
pass='Interop-P4ss!'
all_stacks=(asmx wcf-basic wcf-soap12 zeep suds node go sendgrid fuel)
started=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/partnerd-interop.XXXXXX")
mkdir -p "$work/logs"
server_pid=

declare -A npass nfail
for s in "${all_stacks[@]}"; do npass[$s]=0; nfail[$s]=0; done

# cleanup [FAILED]: stops the server this script started and removes the work directory,
# unless something failed or INTEROP_KEEP=1.
cleanup() {
  trap - EXIT
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  if [[ ${1:-1} != 0 || ${INTEROP_KEEP:-} == 1 ]]; then
    echo "interop: logs kept in $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

wanted() { [[ " $stacks_wanted " == *" $1 "* ]]; }

# record STACK NAME OK DETAIL: a check the runner itself makes (generating, compiling).
record() {
  if [[ $3 == 1 ]]; then
    ((npass[$1]++))
  else
    ((nfail[$1]++))
    echo "FAIL $1: $2: $4"
  fi
}

# step STACK NAME LOGFILE CMD...: runs a build step as a check; shows the log's tail on failure.
step() {
  local stack=$1 name=$2 log=$3
  shift 3
  if "$@" >"$log" 2>&1; then
    record "$stack" "$name" 1 ""
    return 0
  fi
  record "$stack" "$name" 0 "exit $? (log: $log)"
  tail -n 15 "$log" | sed 's/^/    | /'
  return 1
}

# client STACK LABEL CMD...: runs one client through the scenario and adds up its checks.
client() {
  local stack=$1 label=$2
  shift 2
  local out="$work/logs/${label//\//_}.out" err="$work/logs/${label//\//_}.err" rc
  timeout 120 "$@" >"$out" 2>"$err"
  rc=$?
  local p f
  p=$(grep -c '^ok ' "$out")
  f=$(grep -c '^FAIL ' "$out")
  grep '^FAIL ' "$out"
  if ! grep -q '^RESULT ' "$out"; then
    echo "FAIL $label: client ended early (exit $rc; log: $err)"
    ((f++))
  elif ((rc != 0 && f == 0)); then
    echo "FAIL $label: client exited $rc with no failed check (log: $err)"
    ((f++))
  fi
  if ((f)); then tail -n 12 "$err" | sed 's/^/    | /'; fi
  ((npass[$stack] += p))
  ((nfail[$stack] += f))
}

die_setup() {
  echo "interop: $1"
  [[ -f $work/server.log ]] && tail -n 20 "$work/server.log" | sed 's/^/    | /'
  for s in "${all_stacks[@]}"; do
    if wanted "$s"; then
      echo "interop: $s: ${npass[$s]} passed, 1 failed"
      nfail[$s]=1
    fi
  done
  cleanup 1
  echo "0 passed, $(wc -w <<<"$stacks_wanted") failed"
  exit 1
}

# --- the server ---------------------------------------------------------------------------
(cd "$root" && go build -o "$work/partnerd" ./cmd/partnerd) >"$work/logs/build-server.log" 2>&1 ||
  die_setup "go build ./cmd/partnerd failed: $(tail -n 5 "$work/logs/build-server.log")"
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
db="$work/partnerd.db"
"$work/partnerd" account add --db "$db" --username "$user" --password "$pass" --client-id 12345 \
  >"$work/logs/account.log" 2>&1 || die_setup "partnerd account add failed: $(cat "$work/logs/account.log")"
# Each client run tries one wrong password on purpose (about 30 in a minute, all from 127.0.0.1);
# the server's failed-login throttle (10 per account and per source in 5 minutes by default, then
# HTTP 429 for every attempt) would then refuse the good password too, so the suite turns it off.
# Environment rather than flags, so that a binary without these settings still starts.
PARTNERD_LOGIN_FAILURES=0 PARTNERD_ACCOUNT_RATE=0 PARTNERD_DEMO_ACCOUNT=false \
  "$work/partnerd" serve --addr "127.0.0.1:$port" --db "$db" >"$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
endpoint="$base/Service.asmx"
our_wsdl="$endpoint?wsdl"
for _ in $(seq 1 150); do
  curl -fs -o /dev/null "$base/healthz" && break
  kill -0 "$server_pid" 2>/dev/null || die_setup "partnerd serve exited"
  sleep 0.2
done
curl -fs -o "$work/ours.wsdl" "$our_wsdl" || die_setup "GET $our_wsdl failed"
echo "interop: partnerd on $base (db $db)"

# The reference WSDL imports https://webservice.exacttarget.com/ETFrameworkFault.xsd, which
# cannot be fetched here (node-soap and suds hang on it). A user without that host makes the same
# client-side edit: point the import at a copy they can reach, here the server's own.
ref_wsdl="$work/etframework.wsdl"
have_ref=1
if [[ -f $ref_src ]]; then
  sed "s#https://webservice.exacttarget.com/ETFrameworkFault.xsd#$base/ETFrameworkFault.xsd#" "$ref_src" >"$ref_wsdl"
else
  have_ref=0
  echo "interop: reference WSDL not found at $ref_src (set INTEROP_REFERENCE_WSDL)"
fi

# for_each_variant FN STACK: calls FN STACK WSDLNAME WSDL-SOURCE for ours and the reference.
for_each_variant() {
  "$1" "$2" ours "$our_wsdl"
  if ((have_ref)); then "$1" "$2" ref "$ref_wsdl"; else record "$2" "reference WSDL present" 0 "$ref_src missing"; fi
}

auth_runs() { # auth_runs STACK LABEL CMD...: the scenario with PasswordText, then PasswordDigest
  local stack=$1 label=$2
  shift 2
  client "$stack" "$label/text" "$@" --label "$label/text"
  client "$stack" "$label/digest" "$@" --digest --label "$label/digest"
}

# --- .NET (Mono): ASMX proxy from `wsdl`, WCF over the same XmlSerializer types ------------------
declare -A mono_built
mono_build() { # mono_build STACK WSDLNAME SRC: wsdl + mcs, once per WSDL
  local d="$work/mono-$2"
  if [[ -z ${mono_built[$2]:-} ]]; then
    mono_built[$2]=fail
    mkdir -p "$d"
    step "$1" "wsdl.exe generates the proxy from the $2 WSDL" "$d/wsdl.log" \
      wsdl -nologo -namespace:PartnerApi "-out:$d/PartnerAPI.cs" "$3" &&
      step "$1" "mcs compiles the $2 proxy" "$d/mcs-proxy.log" \
        mcs -nologo -target:library "-out:$d/PartnerApi.dll" -r:System.Web.Services -r:System.Xml "$d/PartnerAPI.cs" &&
      step "$1" "mcs compiles the ASMX client ($2)" "$d/mcs-asmx.log" \
        mcs -nologo "-out:$d/asmx.exe" "-r:$d/PartnerApi.dll" -r:System.Web.Services -r:System.Xml -r:System.Core \
        "$here/lib/Scenario.cs" "$here/asmx/Client.cs" &&
      mono_built[$2]=ok
  elif [[ ${mono_built[$2]} == fail ]]; then
    record "$1" "proxy from the $2 WSDL" 0 "generating or compiling it failed above"
  fi
  [[ ${mono_built[$2]} == ok ]]
}

run_asmx() {
  mono_build asmx "$2" "$3" || return
  auth_runs asmx "asmx/$2" mono "$work/mono-$2/asmx.exe" --endpoint "$endpoint" --user "$user" --password "$pass"
}

run_wcf() { # $1 is wcf-basic or wcf-soap12
  local d="$work/mono-$2" extra=()
  [[ $1 == wcf-soap12 ]] && extra=(--soap12)
  mono_build "$1" "$2" "$3" || return
  if [[ ! -f $d/wcf.exe ]]; then
    step "$1" "mcs compiles the WCF client ($2)" "$d/mcs-wcf.log" \
      mcs -nologo "-out:$d/wcf.exe" "-r:$d/PartnerApi.dll" -r:System.ServiceModel -r:System.Runtime.Serialization \
      -r:System.Xml -r:System.Core "$here/lib/Scenario.cs" "$here/wcf/Contract.cs" "$here/wcf/Client.cs" || return
  fi
  auth_runs "$1" "$1/$2" mono "$d/wcf.exe" --endpoint "$endpoint" --user "$user" --password "$pass" "${extra[@]}"
}

# --- Python and Node: they load the WSDL at run time -------------------------------------------
run_zeep() {
  auth_runs zeep "zeep/$2" "$py" "$here/zeep/client.py" --wsdl "$3" --endpoint "$endpoint" \
    --user "$user" --password "$pass"
}

run_suds() {
  local src=$3
  [[ $src == /* ]] && src="file://$src"
  auth_runs suds "suds/$2" "$py" "$here/suds/client.py" --wsdl "$src" --endpoint "$endpoint" \
    --user "$user" --password "$pass"
}

run_node() {
  auth_runs node "node/$2" node "$here/node/client.js" --wsdl "$3" --endpoint "$endpoint" \
    --user "$user" --password "$pass"
}

# --- Go: the committed wsdl/partnerapi, and gowsdl run now on each WSDL -------------------------
go_runs() { # go_runs LABEL BINARY (Go's flag package takes --name as well as -name)
  auth_runs go "$1" "$2" --endpoint "$endpoint" --user "$user" --password "$pass"
}

run_go_generated() { # gowsdl on the WSDL, added to interop/go/generated with -overlay
  local d="$work/gowsdl-$2" gen
  mkdir -p "$d"
  step go "gowsdl generates a client from the $2 WSDL" "$d/gowsdl.log" \
    go -C "$root" tool gowsdl -p generated -o generated.go -d "$d" "$3" || return
  gen="$d/generated/generated.go"
  # gowsdl names the port type's implementation after it: the WSDL's portType "Soap" becomes
  # `type soap struct`, which collides with the import of gowsdl's runtime package soap. Go
  # users rename it after generating (partnerd's own wsdl/internal/gengo renames the portType).
  sed -i -e 's/^type soap struct/type soapPort struct/' -e 's/return &soap{/return \&soapPort{/' \
    -e 's/(service \*soap)/(service *soapPort)/' "$gen"
  printf '{"Replace":{"%s":"%s"}}\n' "$here/go/generated/generated.go" "$gen" >"$d/overlay.json"
  step go "the $2 gowsdl client compiles" "$d/build.log" \
    go -C "$root" build -overlay "$d/overlay.json" -tags generated -o "$d/client" ./interop/go || return
  go_runs "go/$2" "$d/client"
}

run_go() {
  if [[ $2 == ours ]]; then
    step go "interop/go builds on wsdl/partnerapi" "$work/logs/go-partnerapi.log" \
      go -C "$root" build -o "$work/go-partnerapi" ./interop/go &&
      go_runs go/partnerapi "$work/go-partnerapi"
  fi
  run_go_generated "$@"
}

# --- SendGrid v3: the official Node.js and Go clients against the REST face -------------------
# One API key of the interop account, made with the CLI; the Go client also checks the SOAP face
# sees the same sends (a REST pause reads Paused over SOAP, a SOAP cancel shows in the batch).
run_sendgrid() {
  local key
  key=$("$work/partnerd" apikey create --db "$db" --account "$user" --name interop 2>"$work/logs/apikey.err" |
    grep -o 'SG\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*' | head -n 1)
  if [[ -z $key ]]; then
    record sendgrid "partnerd apikey create prints a key" 0 "$(cat "$work/logs/apikey.err")"
    return
  fi
  "$work/partnerd" list create --db "$db" --account "$user" --name interop \
    --emails list-a@example.com,list-b@example.com >"$work/logs/list.log" 2>&1 ||
    record sendgrid "partnerd list create" 0 "$(cat "$work/logs/list.log")"
  client sendgrid sendgrid/node node "$here/sendgrid/node/client.js" --base "$base" --key "$key" --label sendgrid/node
  step sendgrid "the sendgrid-go client builds (nested module)" "$work/logs/sendgrid-go-build.log" \
    go -C "$here/sendgrid/go" build -o "$work/sendgrid-go" . || return
  client sendgrid sendgrid/go "$work/sendgrid-go" --base "$base" --key "$key" --endpoint "$endpoint" \
    --user "$user" --password "$pass" --label sendgrid/go
}

# --- Marketing Cloud SDK with a token: FuelSDK-Node given only the base URL -------------------
# A server of its own under a manual clock (its admin listener moves the clock past the token's
# life), on a store of its own (one server per file), with a token client made by the CLI.
run_fuel() {
  local fdb="$work/fuel.db" fport aport creds id secret fpid
  fport=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  aport=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  step fuel "partnerd account add (fuel store)" "$work/logs/fuel-account.log" \
    "$work/partnerd" account add --db "$fdb" --username "$user" --password "$pass" --client-id 12345 || return
  creds=$("$work/partnerd" client add --db "$fdb" --account "$user" 2>"$work/logs/fuel-client.err")
  id=$(sed -n 's/^client_id=//p' <<<"$creds")
  secret=$(sed -n 's/^client_secret=//p' <<<"$creds")
  if [[ -z $id || -z $secret ]]; then
    record fuel "partnerd client add prints an id and a secret" 0 "$(cat "$work/logs/fuel-client.err")"
    return
  fi
  PARTNERD_LOGIN_FAILURES=0 PARTNERD_DEMO_ACCOUNT=false PARTNERD_ADMIN_TOKEN=interop-admin \
    "$work/partnerd" serve --addr "127.0.0.1:$fport" --db "$fdb" --clock manual --admin-addr "127.0.0.1:$aport" \
    >"$work/fuel-server.log" 2>&1 &
  fpid=$!
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null "http://127.0.0.1:$fport/healthz" && break
    sleep 0.2
  done
  client fuel fuel/node node "$here/fuel/client.js" --base "http://127.0.0.1:$fport" --id "$id" --secret "$secret" \
    --mid 12345 --admin "http://127.0.0.1:$aport" --admin-token interop-admin --label fuel/node
  client fuel fuel/sfmc-sdk node "$here/fuel/msdk.mjs" --base "http://127.0.0.1:$fport" --id "$id" --secret "$secret" \
    --mid 12345 --admin "http://127.0.0.1:$aport" --admin-token interop-admin --label fuel/sfmc-sdk
  client fuel fuel/fuel-soap node "$here/fuel/fuelsoap.js" --base "http://127.0.0.1:$fport" --id "$id" --secret "$secret" \
    --admin "http://127.0.0.1:$aport" --admin-token interop-admin --label fuel/fuel-soap
  kill "$fpid" 2>/dev/null
  wait "$fpid" 2>/dev/null
}

for s in "${all_stacks[@]}"; do
  wanted "$s" || continue
  stack_started=$(date +%s)
  case $s in
  asmx) for_each_variant run_asmx asmx ;;
  wcf-basic | wcf-soap12) for_each_variant run_wcf "$s" ;;
  zeep) for_each_variant run_zeep zeep ;;
  suds) for_each_variant run_suds suds ;;
  node) for_each_variant run_node node ;;
  go) for_each_variant run_go go ;;
  sendgrid) run_sendgrid ;;
  fuel) run_fuel ;;
  esac
  echo "interop: $s: ${npass[$s]} passed, ${nfail[$s]} failed"
  [[ -n ${INTEROP_TIMING:-} ]] && echo "interop: $s took $(($(date +%s) - stack_started))s"
done

if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "FAIL interop: partnerd exited during the run"
  tail -n 20 "$work/server.log" | sed 's/^/    | /'
  server_died=1
fi

total_pass=0
total_fail=${server_died:-0}
for s in "${all_stacks[@]}"; do
  ((total_pass += npass[$s]))
  ((total_fail += nfail[$s]))
done
echo "interop: finished in $(($(date +%s) - started))s"
cleanup "$total_fail"
echo "$total_pass passed, $total_fail failed" # the closing line: keep it last
((total_fail == 0))
