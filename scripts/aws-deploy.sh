#!/usr/bin/env bash
# `make aws-deploy`: `sam deploy` of what `make aws-build` built, refusing a stack configured (samconfig.toml)
# for the other architecture, since x86_64 binaries on arm64 Lambdas (or the reverse) fail every call.
# The built architecture is passed as the Architecture override with the file's other overrides, so a guided
# deploy (GUIDED=1, or --guided) offers it as the answer. Extra arguments go to `sam deploy`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .aws-sam/architecture ]; then
  echo "nothing built: run make aws-build (ARCH=arm64 for arm64) first" >&2
  exit 2
fi
built=$(cat .aws-sam/architecture)
configured=$(.venv/bin/python scripts/samconfig.py architecture)
if [ -n "$configured" ] && [ "$configured" != "$built" ]; then
  echo "the Lambdas were built for $built but samconfig.toml deploys Architecture=$configured:" >&2
  echo "run ARCH=$configured make aws-build, or change Architecture in samconfig.toml" >&2
  exit 2
fi
exec scripts/sam deploy --parameter-overrides "$(.venv/bin/python scripts/samconfig.py overrides "$built")" "$@"
