#!/usr/bin/env bash
# Builds Airlock and runs every test (real sandboxes: needs bubblewrap and user namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
AIRLOCK_SETUP_TESTS=1 AIRLOCK_SETUP_BROWSER=1 scripts/setup.sh
# At most four tests at once: the suite starts real sandboxes, servers and a browser, and on
# two cores an unbounded fan-out starves the few tests that bound how long a kill may take
# (the whole suite takes the same ~35 s either way).
swift test --experimental-maximum-parallelization-width 4 "$@" 2>&1 | grep -vE "warning: the use of \`mktemp'"
exit "${PIPESTATUS[0]}"
