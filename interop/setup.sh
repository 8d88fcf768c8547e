#!/usr/bin/env bash
# interop/setup.sh: installs what interop/run.sh needs, only what is missing.
# Idempotent, and fast (well under a second) when everything is already there.
#   Debian packages: Mono (wsdl, mcs, System.Web.Services, System.ServiceModel), python3-zeep,
#                    python3-suds, curl; `apt-get update` + `apt-get install -y` as root.
#   npm:             `npm ci` in interop/node (node-soap) and interop/sendgrid/node (@sendgrid/client, @sendgrid/mail),
#                    and interop/fuel (sfmc-fuelsdk-node, sfmc-sdk, fuel-soap/fuel-auth), pinned in package-lock.json.
# Not root and something missing: prints exactly what to install and exits non-zero.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

apt_pkgs=(mono-devel libmono-system-web-services4.0-cil libmono-system-servicemodel4.0a-cil
          python3-zeep python3-suds curl)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=()
for p in "${apt_pkgs[@]}"; do installed "$p" || missing+=("$p"); done

for tool in go node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "interop/setup.sh: '$tool' is not on PATH; the suite needs Go and Node.js/npm (part of the machine image)." >&2
    exit 1
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "interop/setup.sh: missing Debian packages; install them as root with:" >&2
    echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "interop/setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# node-soap and the SendGrid Node.js clients: `npm ci` unless node_modules already holds exactly
# the locked tree.
for node_dir in "$here/node" "$here/sendgrid/node" "$here/fuel"; do
  if ! cmp -s "$node_dir/package-lock.json" "$node_dir/node_modules/.interop-lock" 2>/dev/null; then
    echo "interop/setup.sh: npm ci in ${node_dir#"$here/"}"
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$node_dir/package-lock.json" "$node_dir/node_modules/.interop-lock"
  fi
done
