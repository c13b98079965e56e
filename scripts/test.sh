#!/usr/bin/env bash
# Builds Airlock and runs every test (real sandboxes: needs bubblewrap and user namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
AIRLOCK_SETUP_BROWSER=1 scripts/setup.sh
swift test "$@" 2>&1 | grep -vE "warning: the use of \`mktemp'"
exit "${PIPESTATUS[0]}"
