#!/usr/bin/env bash
# Builds the realistic test image once per machine: Debian 12 minbase + python3 + pip, made by
# mmdebstrap from Debian's mirror, as an OCI layout in /var/cache/airlock-test/python-image
# (one gzip layer). The image tests use it when present and say they skipped when not.
# Takes a few minutes (download + dpkg); reruns do nothing.
set -euo pipefail
cache="${AIRLOCK_TEST_CACHE:-/var/cache/airlock-test}"
out="$cache/python-image"
[ -f "$out/index.json" ] && { echo "python image: $out (cached)"; exit 0; }
command -v mmdebstrap >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
mkdir -p "$cache"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
echo "python image: mmdebstrap $suite minbase + python3 + pip (a few minutes)" >&2
mmdebstrap --quiet --variant=minbase --include=python3,python3-pip "$suite" "$work/rootfs.tar"
mkdir -p "$work/layout/blobs/sha256"
diff_id="$(sha256sum "$work/rootfs.tar" | cut -c1-64)"
gzip -n -1 "$work/rootfs.tar"
layer="$(sha256sum "$work/rootfs.tar.gz" | cut -c1-64)"
layer_size="$(stat -c %s "$work/rootfs.tar.gz")"
mv "$work/rootfs.tar.gz" "$work/layout/blobs/sha256/$layer"
put() {  # stdin → blob; prints "digest size"
    local tmp="$work/blob.tmp"; cat > "$tmp"
    local d; d="$(sha256sum "$tmp" | cut -c1-64)"; local s; s="$(stat -c %s "$tmp")"
    mv "$tmp" "$work/layout/blobs/sha256/$d"; echo "$d $s"
}
read -r config config_size < <(printf '{"architecture":"amd64","os":"linux","created":"%s","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","PYTHONDONTWRITEBYTECODE=1"],"WorkingDir":"/workspace","Cmd":["python3"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$diff_id" | put)
read -r manifest manifest_size < <(printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" | put)
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
    "$manifest" "$manifest_size" > "$work/layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$work/layout/oci-layout"
mv "$work/layout" "$out"
echo "python image: $out (sha256:$manifest)"
