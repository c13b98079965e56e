#!/usr/bin/env bash
# Airlock's main job end to end: an agent fixes a failing test in a real bubblewrap
# sandbox, driven by the scripted model (no network, no key), with state in SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

workspace=$(mktemp -d /tmp/airlock-demo-XXXXXX)
chmod 755 "$workspace"
cp -r examples/fix-test/workspace/. "$workspace/"
echo "demo: workspace $workspace (a copy of examples/fix-test/workspace)" >&2

status=0
.build/debug/airlock run "Fix the failing test in this project" \
    --model script:examples/fix-test/script.json \
    --workspace "$workspace" --max-steps 10 --timeout 2m "$@" || status=$?
echo "demo: exit $status; see the transcript with: .build/debug/airlock show latest; check the ledger with: .build/debug/airlock verify latest" >&2
exit $status
