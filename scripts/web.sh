#!/usr/bin/env bash
# Builds the web UI into web/dist (what `call-analytics serve` serves): npm from Debian when missing, the
# locked dependencies installed into web/node_modules when they changed, then the bundle (about a second).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/apt.sh
command -v npm >/dev/null || apt_install npm
if [ ! -f web/node_modules/.package-lock.json ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  npm ci --prefix web --no-audit --no-fund --silent
fi
npm run build --prefix web --silent
