#!/usr/bin/env bash
# Installs the real SMTP server the delivery tests send mail to: the npm
# package smtp-server, pinned in delivery/testdata/smtp/package.json (and
# its package-lock.json). Needs node and npm; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/../delivery/testdata/smtp"
if ! command -v npm >/dev/null 2>&1; then
  echo "setup-smtp-test: npm is missing — install nodejs and npm (apt-get install -y nodejs npm)" >&2
  exit 1
fi
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
node -e 'require("smtp-server")' && echo "setup-smtp-test: smtp-server $(node -p 'require("smtp-server/package.json").version') ready"
