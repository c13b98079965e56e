#!/usr/bin/env bash
# Builds a release `airlock` with the Swift runtime linked statically and installs it with its
# guest: PREFIX/lib/airlock/{airlock,airlock-exec,airlock-guest} and the command PREFIX/bin/airlock,
# which is airlock-exec: it runs `airlock exec` itself and hands every other command to airlock.
# Nothing else is needed at run time but bubblewrap (and libseccomp, SQLite and zlib, which
# every Debian has). Usage: scripts/install.sh [PREFIX]   (default /usr/local)
#   DESTDIR          stage the files under this directory (for packaging)
#   AIRLOCK_BUILD_DIR the build directory (default .build); a cache outside the checkout
#                    makes a second install incremental
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
case "$prefix" in /*) ;; *) echo "install.sh: PREFIX must be an absolute path, not '$prefix'" >&2; exit 2 ;; esac
scratch=${AIRLOCK_BUILD_DIR:-.build}
AIRLOCK_SETUP_NO_BUILD=1 scripts/setup.sh

echo "install.sh: building release airlock, airlock-exec and airlock-guest (static Swift runtime) in $scratch" >&2
# Start-up is part of every `airlock exec`: the toolchain's lld packs the 165,000 relative
# relocations of a position-independent Swift binary (DT_RELR, glibc >= 2.36), and nothing
# needs the 68,000 symbols the static runtime's link flags export (ld.so's dladdr scans them).
# Together about 2 ms of each start (docs/benchmarks.md).
flags=(-c release --static-swift-stdlib --scratch-path "$scratch"
       -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs -Xlinker --no-export-dynamic)
for product in airlock airlock-exec airlock-guest; do
    swift build "${flags[@]}" --product "$product"
done
bin=$(swift build "${flags[@]}" --show-bin-path)

# The binary must not need the toolchain: no Swift library may be resolved at run time.
if ldd "$bin/airlock" | grep -E 'libswift|libFoundation|libdispatch|not found'; then
    echo "install.sh: $bin/airlock still needs the libraries above at run time" >&2
    exit 1
fi

destdir=${DESTDIR:-}
lib="$destdir$prefix/lib/airlock"
install -d "$lib" "$destdir$prefix/bin"
install -m 0755 "$bin/airlock" "$bin/airlock-exec" "$bin/airlock-guest" "$lib/"
strip --strip-unneeded "$lib/airlock" "$lib/airlock-exec" "$lib/airlock-guest" 2>/dev/null || true
# Both find the guest and each other beside their real path (/proc/self/exe), so a symlink
# works. The command is airlock-exec: a fully static 20 MB executable whose start-up is a
# fraction of the full harness's, and `exec` runs once per sandbox (docs/benchmarks.md).
ln -sfn ../lib/airlock/airlock-exec "$destdir$prefix/bin/airlock"
echo "install.sh: installed $("$lib/airlock" --version) in $prefix (bin/airlock, lib/airlock/)" >&2
