#!/usr/bin/env bash
# A single-node Kubernetes (v1.20.2, from Debian's source package) on loopback for the
# Kubernetes tests: `build` (once, ~7 min on 2 cores), `up`, `down`, `status`,
# `import-guest` (the guest image again, after a change to the guest).
#
# Everything lives under $AIRLOCK_K8S_HOME (default /var/cache/airlock-test/k8s), outside
# the checkout, so the build is reused. `up` builds when the binaries are missing, starts
# etcd, containerd, the apiserver, the controller manager, the scheduler and the kubelet bound to
# 127.0.0.1, imports the test images, and writes $AIRLOCK_K8S_HOME/run/harness.kubeconfig:
# the service account `airlock-harness`, allowed only in namespace `airlock-test` (RBAC).
# `down` stops what `up` started by its recorded PIDs (never by name), kills the pods'
# containers, unmounts what the kubelet and containerd mounted, deletes the network
# namespaces and bridge the CNI plugin made, restores ip_forward, removes KUBE-* iptables
# chains where iptables exists, and removes host directories that did not exist before.
# Both are idempotent. Needs root (containerd, runc, mounts).
set -uo pipefail
K=${AIRLOCK_K8S_HOME:-/var/cache/airlock-test/k8s}
R=$K/run P=$K/pki B=$K/src/kubernetes-1.20.2/_output/bin
NS=${AIRLOCK_K8S_NAMESPACE:-airlock-test}
HERE=$(cd "$(dirname "$0")" && pwd)
export PATH=$K/root/usr/bin:$K/root/usr/sbin:$PATH
KUBECTL="$K/root/usr/bin/kubectl --kubeconfig=$R/admin.kubeconfig --request-timeout=10s"
CTR="$K/root/usr/bin/ctr -a $R/containerd/containerd.sock -n k8s.io"
log() { echo "k8s-test-cluster: $*" >&2; }
die() { log "error: $*"; exit 1; }

built() { [ -x $B/kube-apiserver ] && [ -x $B/kube-controller-manager ] && [ -x $B/kube-scheduler ] && [ -x $B/kubelet ] && [ -x $K/root/usr/bin/etcd ]; }

build() {
  built && return 0
  [ "$(id -u)" = 0 ] || die "building needs root (apt-get download into $K)"
  log "building Kubernetes v1.20.2 from Debian's source package into $K (once, ~7 min)"
  mkdir -p $K/debs $K/root $K/src $K/bin $K/apt/lists/partial $K/apt/cache/archives/partial $K/apt/sources.list.d $K/home
  (cd $K/debs && apt-get download golang-1.19-go golang-1.19-src etcd-server etcd-client kubernetes-client \
      containerd runc containernetworking-plugins busybox-static rsync libpopt0 >/dev/null) || die "apt-get download failed"
  for d in $K/debs/*.deb; do dpkg -x "$d" $K/root; done
  # Kubernetes' make needs rsync; the unpacked one with its library, without installing it.
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s/root/usr/lib/x86_64-linux-gnu exec %s/root/usr/bin/rsync "$@"\n' $K $K > $K/bin/rsync
  chmod +x $K/bin/rsync
  # The machine's own apt sources with source packages turned on, in a private apt directory.
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types: deb$/Types: deb deb-src/' "$f" > $K/apt/sources.list.d/"$(basename "$f")"
  done
  [ -f /etc/apt/sources.list ] && sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > $K/apt/sources.list.d/src.list
  local apto="-o Dir::Etc::sourcelist=/nonexistent -o Dir::Etc::sourceparts=$K/apt/sources.list.d -o Dir::State::Lists=$K/apt/lists -o Dir::Cache=$K/apt/cache"
  if [ ! -d $K/src/kubernetes-1.20.2 ]; then
    apt-get $apto update -qq >/dev/null && (cd $K/src && apt-get $apto source --download-only kubernetes >/dev/null) \
      || die "cannot fetch Debian's kubernetes source package"
    (cd $K/src && tar xzf kubernetes_*.orig.tar.gz) || die "cannot unpack the kubernetes source"
  fi
  (
    export PATH=$K/bin:$K/root/usr/lib/go-1.19/bin:$PATH GOROOT=$K/root/usr/lib/go-1.19 GOCACHE=$K/gocache GOPROXY=off GOFLAGS= HOME=$K/home
    export KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_COMMIT=faecb196815e248d3ecfb03c680a4507229c2a56 KUBE_GIT_TREE_STATE=clean KUBE_GIT_MAJOR=1 KUBE_GIT_MINOR=20
    cd $K/src/kubernetes-1.20.2 &&
    nice make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler" >$K/build.log 2>&1 &&
    nice make WHAT="cmd/kubelet" GOFLAGS="-tags=providerless" >>$K/build.log 2>&1
  ) || die "the Kubernetes build failed (see $K/build.log)"
  built || die "the build ended without the binaries (see $K/build.log)"
  log "built"
}

source "$HERE/k8s-test-cluster-files.sh"

alive() { [ -f $R/$1.pid ] && kill -0 "$(cat $R/$1.pid)" 2>/dev/null; }
start() { local name=$1; shift; alive $name && return 0; nohup setsid "$@" > $R/$name.log 2>&1 < /dev/null & echo $! > $R/$name.pid; }
wait_for() { # what seconds command...
  local what=$1 limit=$2; shift 2
  local end=$(( $(date +%s) + limit ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt $end ] || { log "$what not ready after ${limit}s"; return 1; }
    sleep 0.3
  done
}
node_ready() { [ "$($KUBECTL get node localhost -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]; }

up() {
  [ "$(id -u)" = 0 ] || die "the test cluster needs root (containerd, runc, mounts)"
  build
  mkdir -p $R
  # Host state to restore on `down`: what existed before and the ip_forward setting.
  if [ ! -f $R/host-before ]; then
    { echo "ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
      for d in /var/lib/cni /var/lib/kubelet /var/log/pods /var/log/containers /run/containerd /etc/cni; do
        [ -e $d ] && echo "existed=$d"; done
      ls /var/run/netns/ 2>/dev/null | sed 's/^/netns=/'; } > $R/host-before
  fi
  prepare_files
  local t0=$(date +%s)
  start etcd $K/root/usr/bin/etcd --name airlock --data-dir $R/etcd-data \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster airlock=http://127.0.0.1:2380
  start containerd $K/root/usr/bin/containerd --config $R/containerd/config.toml
  start apiserver $R/apiserver.sh
  wait_for "the apiserver" 60 curl -sf --max-time 1 --cacert $P/ca.crt -H "Authorization: Bearer $(admin_token)" https://127.0.0.1:6443/readyz \
    || { log "apiserver log tail:"; tail -5 $R/apiserver.log >&2; down; exit 1; }
  start kcm $R/kcm.sh
  start scheduler $R/scheduler.sh
  wait_for "containerd" 30 $CTR version || { down; exit 1; }
  import_images
  start kubelet $R/kubelet.sh
  wait_for "the node" 90 node_ready || { log "kubelet log tail:"; tail -5 $R/kubelet.log >&2; down; exit 1; }
  harness_access || { down; exit 1; }
  log "up in $(( $(date +%s) - t0 ))s; kubeconfig: $R/harness.kubeconfig (namespace $NS)"
  echo $R/harness.kubeconfig
}

import_images() {
  for image in pause sandbox; do
    $CTR images ls -q | grep -q "probe/$image" || $CTR images import $K/img/$image.tar >/dev/null || die "cannot import $image"
  done
  # The guest image, written by `airlock image guest` when the binary is built.
  local airlock=${AIRLOCK_BIN:-$HERE/../.build/debug/airlock}
  if [ -x "$airlock" ]; then
    "$airlock" image guest -o $K/img/guest.tar >/dev/null 2>&1 && $CTR images import $K/img/guest.tar >/dev/null \
      || log "warning: the guest image could not be written or imported"
  else
    log "warning: $airlock is not built; the guest image was not imported"
  fi
}

# The harness identity: service account airlock-harness in $NS with a Role for what the
# Kubernetes backend does (pods, pods/exec, pods/log, network policies, events) and nothing else.
harness_access() {
  $KUBECTL get ns $NS >/dev/null 2>&1 || $KUBECTL create ns $NS >/dev/null || return 1
  $KUBECTL apply -f - >/dev/null <<YAML || return 1
apiVersion: v1
kind: ServiceAccount
metadata: {name: airlock-harness, namespace: $NS}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: airlock-harness, namespace: $NS}
rules:
- {apiGroups: [""], resources: [pods], verbs: [create, get, list, watch, delete, deletecollection]}
- {apiGroups: [""], resources: [pods/exec], verbs: [get, create]}
- {apiGroups: [""], resources: [pods/log, events], verbs: [get, list]}
- {apiGroups: [networking.k8s.io], resources: [networkpolicies], verbs: [get, list, create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: airlock-harness, namespace: $NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: airlock-harness}
subjects: [{kind: ServiceAccount, name: airlock-harness, namespace: $NS}]
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: runc}
handler: runc
YAML
  # v1.20's token controller writes the account's token into a Secret; wait for it.
  local secret="" end=$(( $(date +%s) + 30 ))
  while [ -z "$secret" ]; do
    secret=$($KUBECTL -n $NS get sa airlock-harness -o jsonpath='{.secrets[0].name}' 2>/dev/null)
    [ -n "$secret" ] && break
    [ "$(date +%s)" -lt $end ] || { log "no token Secret for airlock-harness after 30s"; return 1; }
    sleep 0.3
  done
  local token
  token=$($KUBECTL -n $NS get secret "$secret" -o jsonpath='{.data.token}' | base64 -d) || return 1
  write_kubeconfig $R/harness.kubeconfig airlock-harness "$token" $NS
  chmod 600 $R/harness.kubeconfig
}

down() {
  [ -d $R ] || { log "nothing to stop"; return 0; }
  for n in kubelet scheduler kcm apiserver; do alive $n && kill "$(cat $R/$n.pid)" 2>/dev/null; done
  if alive containerd; then
    for t in $($CTR tasks ls -q 2>/dev/null); do $CTR tasks kill -s KILL "$t" >/dev/null 2>&1; done
    sleep 1
    for t in $($CTR tasks ls -q 2>/dev/null); do $CTR tasks delete -f "$t" >/dev/null 2>&1; done
    for c in $($CTR containers ls -q 2>/dev/null); do $CTR containers delete "$c" >/dev/null 2>&1; done
  fi
  for n in containerd etcd; do alive $n && kill "$(cat $R/$n.pid)" 2>/dev/null; done
  # Wait (bounded) for each recorded process to end, then kill what is left, by PID only.
  for n in kubelet scheduler kcm apiserver containerd etcd; do
    for _ in $(seq 1 30); do alive $n || break; sleep 0.2; done
    alive $n && kill -9 "$(cat $R/$n.pid)" 2>/dev/null
    rm -f $R/$n.pid
  done
  # Container shims our containerd started: their command line names our socket.
  for p in /proc/[0-9]*; do
    grep -qa -- "$R/containerd" $p/cmdline 2>/dev/null && grep -qa containerd-shim $p/cmdline 2>/dev/null && kill -9 "${p#/proc/}" 2>/dev/null
  done
  grep -F " $R" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  grep -E ' /run/containerd/| /var/lib/kubelet/' /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  for ns in /var/run/netns/cni-*; do
    [ -e "$ns" ] || continue
    grep -qx "netns=$(basename "$ns")" $R/host-before 2>/dev/null && continue
    umount "$ns" 2>/dev/null; rm -f "$ns"
  done
  ip link del airlockcni0 2>/dev/null
  for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/*/k8s.io /sys/fs/cgroup/kubepods /sys/fs/cgroup/k8s.io; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  if command -v iptables >/dev/null 2>&1; then
    iptables -t nat -D POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING 2>/dev/null
    iptables -D INPUT -j KUBE-FIREWALL 2>/dev/null; iptables -D OUTPUT -j KUBE-FIREWALL 2>/dev/null
    for t in filter nat mangle; do
      for c in $(iptables -t $t -S 2>/dev/null | awk '/^-N KUBE-/{print $2}'); do iptables -t $t -F "$c"; done
      for c in $(iptables -t $t -S 2>/dev/null | awk '/^-N KUBE-/{print $2}'); do iptables -t $t -X "$c"; done
    done
  fi
  if [ -f $R/host-before ]; then
    local fwd; fwd=$(sed -n 's/^ip_forward=//p' $R/host-before)
    [ -n "$fwd" ] && echo "$fwd" > /proc/sys/net/ipv4/ip_forward
    for d in /var/lib/cni /var/lib/kubelet /var/log/pods /var/log/containers /run/containerd /etc/cni; do
      grep -qx "existed=$d" $R/host-before || rm -rf "$d"
    done
  fi
  # The cluster's state (etcd, containerd, the kubelet's pods) goes; the build and PKI stay.
  rm -rf $R
  log "down"
}

status() {
  local rc=0
  for n in etcd containerd apiserver kcm scheduler kubelet; do
    if alive $n; then echo "$n: running (pid $(cat $R/$n.pid))"; else echo "$n: stopped"; rc=1; fi
  done
  if [ $rc = 0 ] && node_ready; then echo "node: Ready"; echo "kubeconfig: $R/harness.kubeconfig"; else echo "node: not ready"; rc=1; fi
  built && echo "build: $B" || echo "build: missing (run: $0 build)"
  return $rc
}

case "${1:-}" in
  build) build ;;
  up) up ;;
  down) down ;;
  status) status ;;
  # After a change to the guest: write and import its image again (AIRLOCK_BIN picks the binary).
  import-guest) import_images; log "guest image imported" ;;
  *) echo "usage: $0 build|up|down|status|import-guest" >&2; exit 64 ;;
esac
