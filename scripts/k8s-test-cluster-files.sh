# Sourced by k8s-test-cluster.sh: the cluster's configuration, TLS, tokens, CNI and images.
# Everything is written under $K (PKI and images once; run/ on every `up`).

admin_token() { sed -n 's/^\([^,]*\),admin,.*/\1/p' $P/tokens.csv; }

write_kubeconfig() { # file user token [namespace]
  cat > "$1" <<KC
apiVersion: v1
kind: Config
clusters:
- name: airlock-test
  cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$P/ca.crt"}
users:
- name: $2
  user: {token: "$3"}
contexts:
- name: airlock-test
  context: {cluster: airlock-test, user: $2${4:+, namespace: $4}}
current-context: airlock-test
KC
}

prepare_files() {
  mkdir -p $P $R/cni/net.d $R/containerd $K/img
  if [ ! -f $P/tokens.csv ]; then
    ( cd $P || exit 1
      openssl genrsa -out ca.key 2048 2>/dev/null
      openssl req -x509 -new -key ca.key -subj /CN=airlock-test-ca -days 3650 -out ca.crt
      leaf() { # name CN SANs
        printf '[ext]\nsubjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n' "$3" > "$1.ext"
        openssl genrsa -out "$1.key" 2048 2>/dev/null
        openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
        openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
          -extfile "$1.ext" -extensions ext -out "$1.crt" 2>/dev/null
      }
      leaf apiserver kube-apiserver "IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
      leaf kubelet localhost "IP:127.0.0.1,DNS:localhost"
      openssl genrsa -out sa.key 2048 2>/dev/null
      openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
      # Random static tokens: the admin (used only by this script), the kubelet, the controller manager.
      tok() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
      printf '%s,admin,admin,"system:masters"\n%s,system:node:localhost,kubelet,"system:nodes"\n%s,system:kube-controller-manager,kcm\n' \
        "$(tok)" "$(tok)" "$(tok)" > tokens.csv.new && chmod 600 tokens.csv.new ca.key sa.key && mv tokens.csv.new tokens.csv )
  fi
  local kubelet_token kcm_token
  kubelet_token=$(sed -n 's/^\([^,]*\),system:node:localhost,.*/\1/p' $P/tokens.csv)
  kcm_token=$(sed -n 's/^\([^,]*\),system:kube-controller-manager,.*/\1/p' $P/tokens.csv)
  scheduler_token=$(sed -n 's/^\([^,]*\),system:kube-scheduler,.*/\1/p' $P/tokens.csv)
  # Without per-controller service accounts the controller manager needs wide rights (else
  # the node keeps its not-ready taint): a test cluster only.
  sed -i 's/^\([^,]*,system:kube-controller-manager,kcm\)$/\1,"system:masters"/' $P/tokens.csv
  if [ -z "$scheduler_token" ]; then  # PKI from before the scheduler was added
    scheduler_token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
    printf '%s,system:kube-scheduler,scheduler\n' "$scheduler_token" >> $P/tokens.csv
  fi
  write_kubeconfig $R/admin.kubeconfig admin "$(admin_token)"
  write_kubeconfig $R/kubelet.kubeconfig kubelet "$kubelet_token"
  write_kubeconfig $R/kcm.kubeconfig kcm "$kcm_token"
  write_kubeconfig $R/scheduler.kubeconfig scheduler "$scheduler_token"
  chmod 600 $R/*.kubeconfig

  cat > $R/apiserver.sh <<EOF
#!/bin/sh
exec $B/kube-apiserver --etcd-servers=http://127.0.0.1:2379 \\
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=6443 --insecure-port=0 \\
  --tls-cert-file=$P/apiserver.crt --tls-private-key-file=$P/apiserver.key --client-ca-file=$P/ca.crt \\
  --token-auth-file=$P/tokens.csv --authorization-mode=Node,RBAC \\
  --service-account-key-file=$P/sa.pub --service-account-signing-key-file=$P/sa.key \\
  --service-account-issuer=https://kubernetes.default.svc \\
  --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=false \\
  --kubelet-client-certificate=$P/apiserver.crt --kubelet-client-key=$P/apiserver.key \\
  --kubelet-preferred-address-types=Hostname,InternalIP --endpoint-reconciler-type=none
EOF
  cat > $R/kcm.sh <<EOF
#!/bin/sh
exec $B/kube-controller-manager --kubeconfig=$R/kcm.kubeconfig --bind-address=127.0.0.1 --secure-port=10257 --port=0 \\
  --service-account-private-key-file=$P/sa.key --root-ca-file=$P/ca.crt --use-service-account-credentials=false \\
  --controllers='*,-nodeipam,-cloud-node-lifecycle' --leader-elect=false
EOF
  cat > $R/scheduler.sh <<EOF
#!/bin/sh
exec $B/kube-scheduler --kubeconfig=$R/scheduler.kubeconfig --bind-address=127.0.0.1 --secure-port=10259 --port=0 \\
  --leader-elect=false
EOF
  # AWS_EC2_METADATA_DISABLED: else the kubelet probes the cloud metadata address at start.
  cat > $R/kubelet.sh <<EOF
#!/bin/sh
export AWS_EC2_METADATA_DISABLED=true PATH=$K/root/usr/bin:$K/root/usr/sbin:\$PATH
exec $B/kubelet --config=$R/kubelet.yaml --kubeconfig=$R/kubelet.kubeconfig \\
  --container-runtime=remote --container-runtime-endpoint=unix://$R/containerd/containerd.sock \\
  --root-dir=$R/kubelet-root --cert-dir=$R/kubelet-root/pki \\
  --hostname-override=localhost --pod-infra-container-image=docker.io/probe/pause:3.2
EOF
  chmod +x $R/*.sh
  # makeIPTablesUtilChains false: no iptables chains (this machine may have no iptables).
  cat > $R/kubelet.yaml <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $P/ca.crt}
authorization: {mode: AlwaysAllow}
tlsCertFile: $P/kubelet.crt
tlsPrivateKeyFile: $P/kubelet.key
cgroupDriver: cgroupfs
failSwapOn: false
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
resolvConf: /etc/resolv.conf
makeIPTablesUtilChains: false
EOF
  # restrict_oom_score_adj: the machine's own oom_score_adj is already set; without it every
  # container fails to start.
  cat > $R/containerd/config.toml <<EOF
version = 2
root = "$R/containerd/root"
state = "$R/containerd/state"
[grpc]
  address = "$R/containerd/containerd.sock"
[ttrpc]
  address = "$R/containerd/containerd.sock.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/probe/pause:3.2"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$K/root/usr/sbin/runc"
        Root = "$R/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$K/root/usr/lib/cni"
    conf_dir = "$R/cni/net.d"
[plugins."io.containerd.internal.v1.opt"]
  path = "$R/containerd/opt"
EOF
  # A bridge with no gateway and no routes: a pod gets an address and reaches nothing.
  cat > $R/cni/net.d/10-bridge.conflist <<'EOF'
{"cniVersion": "0.4.0", "name": "airlock-test",
 "plugins": [{"type": "bridge", "bridge": "airlockcni0", "isGateway": false, "ipMasq": false,
              "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.88.7.0/24"}]]}}]}
EOF
  [ -f $K/img/sandbox.tar ] && [ -f $K/img/pause.tar ] || python3 "$HERE/k8s-test-images.py" $K/img "$K/root/bin/busybox" \
    || die "cannot write the test images"
}
