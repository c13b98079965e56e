#!/usr/bin/env bash
# Builds airlock_VERSION_ARCH.deb from the same files scripts/install.sh installs (under /usr).
# Usage: scripts/package-deb.sh [OUTDIR]   (default: the current directory)
set -euo pipefail
out=$(realpath "${1:-.}")
cd "$(dirname "$0")/.."
stage=$(mktemp -d /tmp/airlock-deb.XXXXXX)
trap 'rm -rf "$stage"' EXIT
DESTDIR="$stage/root" scripts/install.sh /usr

version=$(sed -n 's/.*static let current = "\(.*\)"/\1/p' Sources/AirlockProtocol/ProductVersion.swift)
arch=$(dpkg --print-architecture)
# The packages that own the shared libraries the full harness loads (glibc, libseccomp, ...).
# (The guest and airlock-exec are fully static: ldd has nothing to say of them.)
libs=$(ldd "$stage/root/usr/lib/airlock/airlock" | awk '/=> \//{print $3}' | sort -u)
depends=$(for lib in $libs; do dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null; done \
    | cut -d: -f1 | sort -u | grep -v '^libgcc-s1$' | paste -sd, | sed 's/,/, /g')
# The binary's packed relocations (DT_RELR) need glibc 2.36 (Debian 12) or later.
depends=$(echo "$depends" | sed 's/\blibc6\b/libc6 (>= 2.36)/')
depends="bubblewrap${depends:+, $depends}"

mkdir -p "$stage/root/DEBIAN"
cat > "$stage/root/DEBIAN/control" <<CONTROL
Package: airlock
Version: $version
Architecture: $arch
Maintainer: Airlock developers <airlock@localhost>
Depends: $depends
Section: devel
Priority: optional
Installed-Size: $(du -sk "$stage/root/usr" | cut -f1)
Description: agent harness that lives outside the sandbox
 Runs an AI agent's loop (model calls, tool-call validation, budgets, policy,
 approvals, a hash-chained audit ledger) in one process and everything the
 model asks for in a disposable bubblewrap sandbox.
CONTROL
deb="$out/airlock_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage/root" "$deb" >/dev/null
echo "$deb"
