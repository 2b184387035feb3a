#!/usr/bin/env bash
# The long fuzz run (`make fuzz`): every crate's fuzz targets (`<crate>/tests/fuzz/`), each for FUZZ_SECONDS
# (default 60: about 12 minutes on 2 cores) in rounds of FUZZ_CASES (default 2000) cases, then a table of
# target / executions / failures / seconds (and, for the HTTP targets, requests taken and refused). The whole
# output is kept in target/fuzz.log, with each failure's minimal input; a failure's seed is saved under
# <crate>/proptest-regressions/fuzz/ and replayed first by every later run, `make test` included.
# Built in the test profile, as `make test` builds: a release build of the workspace would be a second cold
# build of whisper.cpp and the AWS SDK, for a speed-up the fuzzed parsers do not need.
set -uo pipefail
cd "$(dirname "$0")/.."
export FUZZ_SECONDS="${FUZZ_SECONDS:-60}" FUZZ_CASES="${FUZZ_CASES:-2000}"
log=target/fuzz.log
: >"$log"
status=0
for crate in shared listener functions; do
  cargo test -p "$crate" --all-features --test fuzz -- --nocapture --test-threads=2 2>&1 | tee -a "$log" |
    grep -E '^(fuzz|http) |^test result|FAILED' || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
done
echo
awk '
  $1 == "fuzz" && $3 ~ /^[0-9]+$/ { order[++n] = $2; runs[$2] = $3; fails[$2] = $4; secs[$2] = $5 }
  $1 == "http" { http[$2] = $3 " / " $5 }
  END {
    printf "%-36s %12s %9s %9s  %s\n", "target", "executions", "failures", "seconds", "taken / refused"
    for (i = 1; i <= n; i++) {
      t = order[i]; total += runs[t]; failed += fails[t]
      printf "%-36s %12d %9d %9.1f  %s\n", t, runs[t], fails[t], secs[t], (t in http) ? http[t] : ""
    }
    printf "%-36s %12d %9d\n", "all", total, failed
  }' "$log"
exit "$status"
