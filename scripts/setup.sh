#!/usr/bin/env bash
# Installs what Airlock needs on Debian/Ubuntu when it is missing, then builds.
# bubblewrap: the sandbox; libseccomp-dev: the seccomp filter; python3: used by some tests;
# postgresql: the PostgreSQL store's tests (no system service is used or started);
# chromium (only with AIRLOCK_SETUP_BROWSER=1, as scripts/test.sh sets): the `airlock serve` page test.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ -f /usr/include/seccomp.h ] || missing+=(libseccomp-dev)
[ -x /usr/bin/python3 ] || missing+=(python3)
# postgresql: the store tests start their own server (initdb in a temp dir, loopback only).
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
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

echo "setup: building (the first build fetches and compiles dependencies: a few minutes)" >&2
swift build "$@"
