#!/usr/bin/env bash
# Checks that the published OpenAPI document says exactly what the server enforces: schemathesis (from the
# project venv, pinned in scripts/tools.sh) generates requests from GET /api/openapi.json, valid and invalid,
# against the real `call-analytics serve` on loopback over a temp data dir, with both tokens, and runs every
# check on the answers. Any failure (a 5xx, a status or body the document does not list, a valid request
# refused, an invalid one accepted) fails the run.
#
# Usage: scripts/schemathesis.sh [extra schemathesis run options]
# Settings (env): SCHEMATHESIS_MAX_EXAMPLES (default 100 test cases per operation and phase; about 45 s),
# SCHEMATHESIS_SEED (default 20261201; fixed so CI sees the same requests every run),
# CALL_ANALYTICS_BIN (default target/debug/call-analytics, which `make test` builds first).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${CALL_ANALYTICS_BIN:-target/debug/call-analytics}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-100}
seed=${SCHEMATHESIS_SEED:-20261201}
# The tokens the server is started with; scripts/schemathesis.toml hands them to schemathesis per security scheme.
export SCHEMATHESIS_INGEST_TOKEN=schemathesis-ingest-token SCHEMATHESIS_SUPERVISOR_TOKEN=schemathesis-supervisor-token

work=$(mktemp -d)
server=
stop() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT

# Port 0: the server picks a free port and names it on its first line, so two runs never collide.
HTTP_ADDR=127.0.0.1:0 DATA_DIR="$work/data" REALTIME_INGEST_TOKEN=$SCHEMATHESIS_INGEST_TOKEN SUPERVISOR_TOKEN=$SCHEMATHESIS_SUPERVISOR_TOKEN \
  GENESYS_AUDIOHOOK_ENABLED=false STT_PROVIDER=none LOG_LEVEL=error \
  "$bin" serve >"$work/stdout" 2>"$work/stderr" &
server=$!
for _ in $(seq 100); do
  base=$(sed -n 's|^Call Analytics listening on \(http://127\.0\.0\.1:[0-9]*\).*|\1|p' "$work/stdout")
  [ -n "$base" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/stderr" >&2; exit 1; }
  sleep 0.1
done
[ -n "$base" ] || { echo "call-analytics did not start" >&2; cat "$work/stderr" >&2; exit 1; }

# One worker: Hypothesis describes strategies with ast.parse, which on CPython 3.11 is not thread-safe
# ("AST constructor recursion depth mismatch"). Hypothesis keeps its own files in the temp dir, not the tree.
HYPOTHESIS_STORAGE_DIRECTORY="$work/hypothesis" .venv/bin/schemathesis --config-file scripts/schemathesis.toml run "$base/api/openapi.json" \
  --mode all \
  --max-examples "$max_examples" \
  --seed "$seed" \
  --generation-database none \
  --workers 1 \
  --request-timeout 30 \
  --no-color \
  "$@"
