#!/usr/bin/env python3
"""Writes the test cluster's two images as OCI archives for `ctr images import` (no registry,
no builder): a pause image and a busybox sandbox image (uid 10001 `agent`, no guest in it)."""
import gzip, hashlib, io, json, sys, tarfile

out, busybox = sys.argv[1], sys.argv[2]
BB = open(busybox, "rb").read()
APPLETS = ("sh", "sleep", "ls", "cat", "echo", "id", "env", "mkdir", "rm", "touch", "wc", "head",
           "true", "false", "ps", "kill", "tr", "grep", "printf", "sed", "test", "stat", "cp", "mv", "ln", "find")


def layer():
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        def add(name, kind, data=b"", mode=0o755, link=""):
            info = tarfile.TarInfo(name)
            info.mtime, info.mode = 1700000000, mode
            if kind == "d":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "l":
                info.type, info.linkname = tarfile.SYMTYPE, link
                t.addfile(info)
            else:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "workspace", "home", "home/agent"):
            add(d, "d", mode=0o1777 if d in ("tmp", "workspace") else 0o755)
        add("bin/busybox", "f", BB)
        for applet in APPLETS:
            add("bin/" + applet, "l", link="busybox")
        add("etc/passwd", "f", b"root:x:0:0:root:/root:/bin/sh\nagent:x:10001:10001:agent:/home/agent:/bin/sh\n", 0o644)
        add("etc/group", "f", b"root:x:0:\nagent:x:10001:\n", 0o644)
    return buf.getvalue()


def archive(path, name, cmd):
    blobs = {}

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return "sha256:" + digest, len(data)
    raw = layer()
    layer_digest, layer_size = blob(gzip.compress(raw, mtime=0))
    config = {"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"], "Cmd": cmd},
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw).hexdigest()]}}
    config_digest, config_size = blob(json.dumps(config).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer_size}]}
    manifest_digest, manifest_size = blob(json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": manifest_digest, "size": manifest_size,
             "annotations": {"io.containerd.image.name": name, "org.opencontainers.image.ref.name": name.rsplit(":", 1)[1]}}]}
    with tarfile.open(path, "w") as t:
        def put(member, data):
            info = tarfile.TarInfo(member)
            info.size, info.mtime = len(data), 1700000000
            t.addfile(info, io.BytesIO(data))
        put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        put("index.json", json.dumps(index).encode())
        for digest, data in blobs.items():
            put("blobs/sha256/" + digest, data)


archive(f"{out}/pause.tar", "docker.io/probe/pause:3.2", ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"])
archive(f"{out}/sandbox.tar", "docker.io/probe/sandbox:1", ["/bin/sleep", "3600"])
