#!/usr/bin/env bash
# Builds Airlock and runs every test (real sandboxes: needs bubblewrap and user namespaces).
# AIRLOCK_TEST_TIMEOUT (seconds, default 1800) bounds the test run: past it the script prints
# the tests still running, the process tree and the test process's backtraces, then fails,
# so a hang costs half an hour and says where it is instead of eating CI's whole budget.
set -euo pipefail
cd "$(dirname "$0")/.."
# stdin is /dev/null, never closed (CI may start us without one): a closed fd 0 is handed to
# the next file a process opens, and a child given "stdin" would get that file.
exec < /dev/null
AIRLOCK_SETUP_TESTS=1 AIRLOCK_SETUP_BROWSER=1 scripts/setup.sh
swift build --build-tests

# The installable binary (scripts/install.sh: a release build, Swift runtime static) into a
# temporary prefix, for the tests that run it without the toolchain. Its build directory is
# a cache outside the checkout, so only the first run on a machine builds everything.
# Opt in with AIRLOCK_TEST_INSTALL=1 (a first release build takes ~30 min on 2 cores); else those tests say why they are skipped.
if [ "${AIRLOCK_TEST_INSTALL:-0}" = 1 ]; then
    prefix=$(mktemp -d /tmp/airlock-installed.XXXXXX)
    chmod 755 "$prefix"
    # A failed install is not skipped over: the installed-binary tests then fail and say so.
    AIRLOCK_BUILD_DIR=${AIRLOCK_RELEASE_BUILD_DIR:-/var/cache/airlock-test/release-build} \
        scripts/install.sh "$prefix" >&2 || echo "test.sh: scripts/install.sh failed (above)" >&2
    export AIRLOCK_INSTALLED_PREFIX=$prefix
fi

# The Kubernetes tests' cluster: up before the tests, down after whatever happens (the trap
# below). Its kubeconfig reaches the tests as AIRLOCK_K8S_KUBECONFIG; when it cannot start,
# the Kubernetes tests print why they skipped. On by default as root (the cluster needs it;
# setup.sh builds it once, ~7 min, cached outside the checkout); AIRLOCK_TEST_K8S=0 leaves it
# out. (The pod-exec status loss that kept it opt-in is understood and fixed: docs/kubernetes.md.)
k8s_up=0
k8s_wanted=0
[ "${AIRLOCK_TEST_K8S:-1}" = 1 ] && [ "$(id -u)" = 0 ] && k8s_wanted=1
start_cluster() {
    k8s_up=1
    if kubeconfig=$(timeout 180 scripts/k8s-test-cluster.sh up); then
        export AIRLOCK_K8S_KUBECONFIG="$kubeconfig"
    else
        echo "test: warning: the Kubernetes test cluster did not start; the Kubernetes tests will be skipped" >&2
        scripts/k8s-test-cluster.sh down >/dev/null 2>&1 || true
    fi
}

limit=${AIRLOCK_TEST_TIMEOUT:-1800}
log=$(mktemp /tmp/airlock-test-log.XXXXXX)
trap 'rm -f "$log"; [ -z "${prefix:-}" ] || rm -rf "$prefix"; [ "$k8s_up" = 0 ] || scripts/k8s-test-cluster.sh down >/dev/null 2>&1 || true' EXIT

# Prints what a hung run needs for a diagnosis, then stops the tests.
diagnose_and_kill() {
    local pid=$1
    echo "=== the tests ran past ${limit} s: stopping them ==="
    echo "--- tests started and not finished:"
    awk '
        / Test .* started\.$/ { name = $0; sub(/^[^ ]* Test /, "", name); sub(/ started\.$/, "", name); open[name] = 1 }
        / Test .* (passed|failed|skipped)/ { for (n in open) if (index($0, "Test " n " ") > 0) delete open[n] }
        END { for (n in open) print "    " n }' "$log"
    echo "--- processes:"
    ps -eo pid,ppid,etime,stat,wchan:24,args --forest | grep -v ' \[' | cut -c1-220
    for p in $(pgrep -f 'airlockPackageTests' || true); do
        echo "--- backtraces of $p:"
        timeout 120 gdb -p "$p" -batch -ex "thread apply all bt 30" 2>&1 | grep -E '^Thread|^#' | cut -c1-240 | head -800 || true
    done
    pkill -TERM -f airlockPackageTests || true
    sleep 5
    pkill -KILL -f airlockPackageTests || true
    kill -TERM "$pid" 2>/dev/null || true
}

# At most four tests at once: the suite starts real sandboxes, servers and a browser, and on
# two cores an unbounded fan-out starves the few tests that bound how long a kill may take.
# Output is line-buffered all the way (stdbuf reaches the test process's stdio, which a pipe
# would otherwise buffer by 4 KiB) so that what is printed is what has happened.
run_tests() {
    local width=${TEST_WIDTH:-4}
    stdbuf -oL -eL swift test --skip-build --experimental-maximum-parallelization-width "$width" "$@" > >(tee -a "$log" | grep --line-buffered -vE "warning: the use of \`mktemp'") 2>&1 &
    local tests=$!
    while kill -0 "$tests" 2>/dev/null; do
        sleep 2
        if (( $(date +%s) - started > limit )); then
            diagnose_and_kill "$tests"
            wait "$tests" || true
            exit 124
        fi
    done
    local status=0
    wait "$tests" || status=$?
    sleep 1 # let tee and grep print the last lines
    return "$status"
}

started=$(date +%s)
status=0
k8s_suites='AirlockKubernetesTests|KubernetesCLITests'
if [ $# -gt 0 ]; then
    # A chosen subset: one run, with the cluster when wanted.
    [ "$k8s_wanted" = 0 ] || start_cluster
    run_tests "$@" || status=$?
else
    # Everything else first, without the cluster's load on the two cores; then the cluster
    # comes up and the Kubernetes suites run on their own (which also keeps their pods and
    # exec streams from competing with the timing-sensitive tests).
    run_tests --skip "$k8s_suites" || status=$?
    if [ "$k8s_wanted" = 1 ]; then
        start_cluster
        # Two tests at a time: each holds a pod of 0.7 CPU (tests run at --cpus 0.5, plus the
        # guest container's 0.2) on a 2-CPU node, and a pod being replaced briefly overlaps
        # its successor. At four, a third or fourth pod could wait Pending past its start
        # bound ("Insufficient cpu"), which failed a CI run.
        TEST_WIDTH=2 run_tests --filter "$k8s_suites" || status=$?
    else
        echo "test: the Kubernetes suites are left out (AIRLOCK_TEST_K8S=0, or not root)" >&2
    fi
fi
exit "$status"
