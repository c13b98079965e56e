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
if [ "${AIRLOCK_SETUP_BROWSER:-0}" = 1 ]; then command -v chromium >/dev/null 2>&1 || missing+=(chromium); fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "setup: building (the first build fetches and compiles dependencies: a few minutes)" >&2
swift build "$@"
