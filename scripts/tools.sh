#!/usr/bin/env bash
# Installs the non-Rust tools the test suite needs into a project venv (.venv/), idempotently:
# a second run with everything in place touches nothing and needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."

CFN_LINT_VERSION=1.58.0
MOTO_VERSION=5.2.5

if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  # Debian splits venv/ensurepip into python3-venv.
  if command -v apt-get >/dev/null; then
    SUDO=$([ "$(id -u)" -eq 0 ] && echo "" || echo sudo)
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv >/dev/null
  else
    echo "tools.sh: python3 with the venv module is required" >&2
    exit 1
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv

have() { .venv/bin/python -m pip show "$1" 2>/dev/null | grep -qx "Version: $2"; }
have cfn-lint "$CFN_LINT_VERSION" || .venv/bin/python -m pip install -q "cfn-lint==$CFN_LINT_VERSION"
# moto's server emulates DynamoDB and S3 on loopback for the AWS adapter tests.
have moto "$MOTO_VERSION" || .venv/bin/python -m pip install -q "moto[server]==$MOTO_VERSION"

echo "tools ready in .venv (cfn-lint $CFN_LINT_VERSION, moto $MOTO_VERSION)"
