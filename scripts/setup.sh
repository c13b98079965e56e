#!/usr/bin/env bash
# Installs what Airlock needs on Debian/Ubuntu when it is missing, then builds.
# bubblewrap: the sandbox; libseccomp-dev: the seccomp filter; python3: used by some tests;
# chromium (only with AIRLOCK_SETUP_BROWSER=1, as scripts/test.sh sets): the `airlock serve` page test.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ -f /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
[ -x /usr/bin/python3 ] || missing+=(python3)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
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

echo "setup: building (the first build fetches and compiles dependencies: a few minutes)" >&2
swift build "$@"
