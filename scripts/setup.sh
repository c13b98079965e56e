#!/usr/bin/env bash
# Installs what Airlock needs on Debian/Ubuntu when it is missing, then builds.
# Always: bubblewrap (the sandbox), libseccomp-dev (the seccomp filter), zlib1g-dev (the image
# unpacker and OTLP gzip). With AIRLOCK_SETUP_TESTS=1 (scripts/test.sh sets it) also what the
# tests use: the other isolation tiers' runtimes, PostgreSQL, busybox and a Python test image,
# the MCP and telemetry test venvs; with AIRLOCK_SETUP_BROWSER=1, chromium for the page test;
# with AIRLOCK_SETUP_NO_BUILD=1, no build at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ -f /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
# The guest is a fully static executable: static glibc and libstdc++ (usually already there
# with the Swift toolchain's own prerequisites).
compgen -G "/usr/lib/*-linux-gnu/libc.a" >/dev/null || missing+=(libc6-dev)
compgen -G "/usr/lib/gcc/*/*/libstdc++.a" >/dev/null || missing+=(libstdc++-12-dev)
tests="${AIRLOCK_SETUP_TESTS:-0}"
if [ "$tests" = 1 ]; then
[ -x /usr/bin/python3 ] || missing+=(python3)
# The other isolation tiers (docs/tiers.md): OCI runtimes and gVisor, tested when present.
command -v crun >/dev/null 2>&1 || missing+=(crun)
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || missing+=(runc)
command -v runsc >/dev/null 2>&1 || missing+=(runsc)
# Images: zlib for the layer unpacker; busybox-static for the test images; umoci for the
# import benchmark's baseline.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
command -v umoci >/dev/null 2>&1 || missing+=(umoci)
# gcc: the escape matrix compiles a static probe into the busybox test image.
command -v cc >/dev/null 2>&1 || missing+=(gcc)
# python3-pytest in /usr (which the sandbox sees): the declarative `pytest` tool test.
/usr/bin/python3 -c 'import pytest' >/dev/null 2>&1 || missing+=(python3-pytest)
# python3-venv: the MCP test servers' virtual environment (below).
/usr/bin/python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
# postgresql: the store tests start their own server (initdb in a temp dir, loopback only).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# openssl: the PostgreSQL TLS tests make a CA and a server certificate with it.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# gdb: scripts/test.sh prints the test process's threads if the suite ever hangs.
command -v gdb >/dev/null 2>&1 || missing+=(gdb)
# strace: the durability test counts the WAL fsyncs a run really makes.
command -v strace >/dev/null 2>&1 || missing+=(strace)
fi
browser=0
if [ "${AIRLOCK_SETUP_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then browser=1; fi
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
if [ ${#missing[@]} -gt 0 ] || [ $browser = 1 ]; then
    "${sudo_cmd[@]}" apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The browser is for one test, which says it was skipped when chromium is missing: a failed
# install is a warning, not the end of the setup.
if [ $browser = 1 ]; then
    echo "setup: installing chromium (for the airlock serve page test)" >&2
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq chromium >/dev/null \
        || echo "setup: warning: chromium could not be installed; the browser test will be skipped" >&2
fi

if [ "$tests" = 1 ]; then
# The realistic image for the image tests (Debian minbase + python3 + pip, via mmdebstrap),
# built once per machine into /var/cache/airlock-test; its test says it skipped without it.
scripts/build-python-image.sh >&2 || echo "setup: warning: the python test image could not be built; its test will be skipped" >&2
# MCP servers for the tests (mcp-server-time, mcp-server-git, the official SDK), built once
# with Debian's python3 (pyenv's lives under /root, which the sandbox cannot see) under
# /usr/local, which every sandbox sees read-only: nothing is copied per test, and a
# workspace handed to the sandbox uid never shares an inode with it. A failed install is a
# warning: the MCP tests then say they were skipped.
mcp_venv="${AIRLOCK_MCP_VENV:-/usr/local/share/airlock-test/mcp-venv}"
if [ ! -x "$mcp_venv/bin/python" ] || ! "$mcp_venv/bin/python" -c 'import mcp, mcp_server_time, mcp_server_git' >/dev/null 2>&1; then
    echo "setup: building the MCP test venv in $mcp_venv" >&2
    "${sudo_cmd[@]}" mkdir -p "$(dirname "$mcp_venv")"
    { "${sudo_cmd[@]}" rm -rf "$mcp_venv" \
        && "${sudo_cmd[@]}" /usr/bin/python3 -m venv "$mcp_venv" \
        && "${sudo_cmd[@]}" "$mcp_venv/bin/pip" install -q --disable-pip-version-check \
            'mcp>=2.3,<3' 'mcp-server-time==2026.10.19' 'mcp-server-git==2026.10.19' >/dev/null; } \
        || echo "setup: warning: the MCP test venv could not be built; the MCP tests will be skipped" >&2
fi
# Telemetry tests: prometheus_client parses `/metrics`; a real Arize Phoenix receives spans.
# Each lives in its own venv under /var/cache/airlock-test, made once and reused; a venv is
# used only once its install finished (.complete). A failed install is a warning: the tests
# that need it say they were skipped. AIRLOCK_SETUP_PHOENIX=0 leaves Phoenix out.
telemetry_venv() {
    local dir="/var/cache/airlock-test/$1"; shift
    [ -f "$dir/.complete" ] && return 0
    echo "setup: installing $* into $dir (once)" >&2
    rm -rf "$dir" && mkdir -p "$(dirname "$dir")"
    if python3 -m venv "$dir" && "$dir/bin/pip" install -q --disable-pip-version-check "$@" >/dev/null 2>&1; then
        touch "$dir/.complete"
    else
        echo "setup: warning: could not install $* into $dir; its tests will be skipped" >&2
    fi
}
if command -v python3 >/dev/null 2>&1; then
    telemetry_venv prometheus-client "prometheus_client==0.26.0"
    [ "${AIRLOCK_SETUP_PHOENIX:-1}" = 0 ] || telemetry_venv phoenix "arize-phoenix==20.26.1"
fi
fi

# The Kubernetes tests run by default as root (they start a cluster); AIRLOCK_TEST_K8S=0 opts out.
k8s_default=0
[ "$(id -u)" = 0 ] && k8s_default=1
if [ "$tests" = 1 ] && [ "${AIRLOCK_SETUP_K8S:-${AIRLOCK_TEST_K8S:-$k8s_default}}" = 1 ]; then
# The Kubernetes tests' cluster (v1.20.2 from Debian's source package, docs/kubernetes.md):
# built once into /var/cache/airlock-test/k8s (~7 min on 2 cores), reused after, for the
# Kubernetes tests (see scripts/test.sh). A failed build is a warning: the Kubernetes tests
# then print why they skipped.
command -v openssl >/dev/null 2>&1 || { DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq openssl >/dev/null || true; }
"${sudo_cmd[@]}" scripts/k8s-test-cluster.sh build >&2 \
    || echo "setup: warning: the Kubernetes test cluster could not be built; the Kubernetes tests will be skipped" >&2
fi

# AIRLOCK_SETUP_NO_BUILD=1: installs only (scripts/install.sh builds a release itself).
[ "${AIRLOCK_SETUP_NO_BUILD:-0}" = 1 ] && exit 0
echo "setup: building (the first build fetches and compiles dependencies: a few minutes)" >&2
swift build "$@"
