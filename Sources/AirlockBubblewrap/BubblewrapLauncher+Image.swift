import AirlockSandbox
import AirlockSandboxHost
/// The bwrap command line for a sandbox on an image: the image tree (or its per-sandbox
/// copy) as `/`, nothing of the host's system; fresh /proc, minimal /dev, tmpfs /tmp,
/// /run, /var/tmp and $HOME; the workspace at /workspace; the guest with its own loader
/// at /.airlock.
extension BubblewrapLauncher {
    /// - Parameters:
    ///   - rootOnHost: where bwrap finds the tree (the store's rootfs, a copy, or the
    ///     private bind target a root harness uses to reach either).
    func planImage(for configuration: SandboxConfiguration, image: ImageRoot, rootOnHost: String,
                   guest: GuestBundle, seccomp: [UInt8]?) -> LaunchPlan {
        var args = [bwrapPath]
        var files: [Int32: [UInt8]] = [:]
        let weak = configuration.weakenings
        let uid = image.uid ?? 0
        let gid = image.gid ?? 0
        if weak.contains(.shareNetwork) {
            args += ["--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        } else {
            args += ["--unshare-all", "--unshare-user"]
        }
        args += ["--die-with-parent", "--new-session", "--disable-userns",
                 "--uid", String(uid), "--gid", String(gid),
                 "--hostname", "airlock", "--cap-drop", "ALL"]
        args += [image.writable == .readOnly ? "--ro-bind" : "--bind", rootOnHost, "/"]
        args += ["--proc", "/proc", "--dev", "/dev"]
        if weak.contains(.bindHostTmp) {
            args += ["--bind", "/tmp", "/tmp"]
        } else {
            args += ["--size", String(configuration.tmpSize), "--perms", "1777", "--tmpfs", "/tmp"]
        }
        args += ["--perms", "1777", "--tmpfs", "/var/tmp", "--perms", "0755", "--tmpfs", "/run"]
        let home = Self.home(uid: uid)
        if uid == 0 {
            args += ["--perms", "0700", "--tmpfs", home]
        } else {
            args += ["--perms", "0755", "--tmpfs", "/home", "--perms", "0700", "--dir", home]
        }
        args += ["--bind", configuration.workspace, "/workspace"]
        args += ["--ro-bind", guest.directory, GuestBundle.inside]
        for (host, inside) in configuration.socketBinds.sorted(by: { $0.key < $1.key }) {
            args += ["--bind", host, inside]
        }
        var guestArguments: [String] = []
        if configuration.network == .proxy, let egress = configuration.egress {
            args += ["--dir", "/run/airlock", "--bind", egress.socketOnHost, EgressAttachment.socketInside]
            guestArguments = ["--egress-relay", "\(egress.port)=\(EgressAttachment.socketInside)"]
            if let ca = egress.certificateAuthorityPEM, let bundle = egress.bundlePEM {
                files[Self.caFD] = Array(ca.utf8)
                files[Self.bundleFD] = Array(bundle.utf8)
                args += ["--perms", "0444", "--ro-bind-data", String(Self.caFD), EgressAttachment.caInside,
                         "--perms", "0444", "--ro-bind-data", String(Self.bundleFD), EgressAttachment.bundleInside]
            }
        }
        let directory = image.workingDirectory ?? "/workspace"
        args += ["--chdir", directory]
        args += ["--clearenv"]
        for (key, value) in imageEnvironment(configuration, image: image).sorted(by: { $0.key < $1.key }) {
            args += ["--setenv", key, value]
        }
        if let seccomp {
            files[Self.seccompFD] = seccomp
            args += ["--seccomp", String(Self.seccompFD)]
        }
        args += ["--"] + guest.command + ["--cwd", directory] + guestArguments
        return LaunchPlan(argv: args, dataFiles: files)
    }

    static func home(uid: UInt32) -> String { uid == 0 ? "/root" : "/home/agent" }

    /// Defaults, then the image's `Env` (its PATH wins over ours), then ours on top: the
    /// proxy variables, CA paths and explicit `--env` always win.
    public func imageEnvironment(_ configuration: SandboxConfiguration, image: ImageRoot) -> [String: String] {
        let uid = image.uid ?? 0
        var env = [
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "HOME": Self.home(uid: uid),
            "USER": uid == 0 ? "root" : "agent",
            "LOGNAME": uid == 0 ? "root" : "agent",
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
        ]
        for (key, value) in image.environment { env[key] = value }
        if configuration.network == .proxy, let egress = configuration.egress {
            for (key, value) in egress.environment { env[key] = value }
        }
        for (key, value) in configuration.environment { env[key] = value }
        return env
    }
}
