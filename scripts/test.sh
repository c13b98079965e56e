#!/usr/bin/env bash
# Builds Airlock and runs every test (real sandboxes: needs bubblewrap and user namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
AIRLOCK_SETUP_TESTS=1 AIRLOCK_SETUP_BROWSER=1 scripts/setup.sh
# The Kubernetes tests' cluster: up before the tests, down after whatever happens (the trap).
# Its kubeconfig reaches the tests as AIRLOCK_K8S_KUBECONFIG; when it cannot start, the
# Kubernetes tests print why they skipped. AIRLOCK_TEST_K8S=0 leaves it out.
if [ "${AIRLOCK_TEST_K8S:-1}" != 0 ] && [ "$(id -u)" = 0 ]; then
    trap 'scripts/k8s-test-cluster.sh down >/dev/null 2>&1 || true' EXIT
    if kubeconfig=$(timeout 180 scripts/k8s-test-cluster.sh up); then
        export AIRLOCK_K8S_KUBECONFIG="$kubeconfig"
    else
        echo "test: warning: the Kubernetes test cluster did not start; the Kubernetes tests will be skipped" >&2
        scripts/k8s-test-cluster.sh down >/dev/null 2>&1 || true
    fi
fi
# At most four tests at once: the suite starts real sandboxes, servers and a browser, and on
# two cores an unbounded fan-out starves the few tests that bound how long a kill may take
# (the whole suite takes the same ~35 s either way).
set +e
swift test --experimental-maximum-parallelization-width 4 "$@" 2>&1 | grep -vE "warning: the use of \`mktemp'"
status=${PIPESTATUS[0]}
exit "$status"
