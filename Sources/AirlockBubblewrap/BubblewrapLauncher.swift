import AirlockSandbox
import AirlockSandboxHost

/// Turns a sandbox configuration into the exact bwrap command line: a pure argv transform
/// (as codex-rs does it), so what a sandbox can reach is readable in one place and tested
/// without starting anything.
public struct BubblewrapLauncher: Sendable {
    public static let guestPathInside = "/.airlock/airlock-guest"
    public static let insideUID = SandboxEnvironment.insideUID
    public static let insideGID = SandboxEnvironment.insideGID
    /// fd numbers in the bwrap process for generated inputs.
    static let seccompFD: Int32 = 3
    static let passwdFD: Int32 = 4
    static let groupFD: Int32 = 5
    static let caFD: Int32 = 6
    static let bundleFD: Int32 = 7
    static let systemBundleFD: Int32 = 8

    public var bwrapPath: String
    public var layout: HostLayout

    public init(bwrapPath: String = "/usr/bin/bwrap", layout: HostLayout) {
        self.bwrapPath = bwrapPath
        self.layout = layout
    }

    /// - Parameters:
    ///   - guestOnHost: the guest executable the sandbox may read.
    ///   - seccomp: the BPF program (`bwrap --seccomp`), nil only for a weakened test sandbox.
    public func plan(for configuration: SandboxConfiguration, guestOnHost: String,
                     seccomp: [UInt8]?) -> LaunchPlan {
        var args = [bwrapPath]
        var files: [Int32: [UInt8]] = [:]
        let weak = configuration.weakenings

        // Namespaces: all of them, network included; no controlling terminal; gone when
        // the harness goes; no way to make further user namespaces.
        if weak.contains(.shareNetwork) {
            args += ["--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-uts",
                     "--unshare-cgroup-try"]
        } else {
            args += ["--unshare-all", "--unshare-user"]
        }
        args += ["--die-with-parent", "--new-session", "--disable-userns",
                 "--uid", String(Self.insideUID), "--gid", String(Self.insideGID),
                 "--hostname", "airlock", "--cap-drop", "ALL"]

        // Filesystem: read-only system, generated identity, fresh /proc, minimal /dev,
        // capped tmpfs /tmp, and the workspace as the only writable host path.
        for entry in layout.systemEntries {
            switch entry {
            case .directory(let path): args += ["--ro-bind", path, path]
            case .symlink(let path, let target): args += ["--symlink", target, path]
            }
        }
        for path in layout.etcFiles { args += ["--ro-bind", path, path] }
        files[Self.passwdFD] = Array(Self.passwd.utf8)
        files[Self.groupFD] = Array(Self.group.utf8)
        args += ["--perms", "0644", "--ro-bind-data", String(Self.passwdFD), "/etc/passwd",
                 "--perms", "0644", "--ro-bind-data", String(Self.groupFD), "/etc/group"]
        args += ["--proc", "/proc", "--dev", "/dev"]
        if weak.contains(.bindHostTmp) {
            args += ["--bind", "/tmp", "/tmp"]
        } else {
            args += ["--size", String(configuration.tmpSize), "--perms", "1777", "--tmpfs", "/tmp"]
        }
        args += ["--bind", configuration.workspace, "/workspace"]
        args += ["--ro-bind", guestOnHost, Self.guestPathInside]
        for (host, inside) in configuration.socketBinds.sorted(by: { $0.key < $1.key }) {
            args += ["--bind", host, inside]
        }
        var guestArguments: [String] = []
        if configuration.network == .proxy, let egress = configuration.egress {
            args += ["--bind", egress.socketOnHost, EgressAttachment.socketInside]
            guestArguments = ["--egress-relay", "\(egress.port)=\(EgressAttachment.socketInside)"]
            if let ca = egress.certificateAuthorityPEM, let bundle = egress.bundlePEM {
                files[Self.caFD] = Array(ca.utf8)
                files[Self.bundleFD] = Array(bundle.utf8)
                args += ["--perms", "0444", "--ro-bind-data", String(Self.caFD), EgressAttachment.caInside,
                         "--perms", "0444", "--ro-bind-data", String(Self.bundleFD), EgressAttachment.bundleInside]
                if let systemPath = egress.systemBundlePath {
                    files[Self.systemBundleFD] = Array(bundle.utf8)
                    args += ["--perms", "0444", "--ro-bind-data", String(Self.systemBundleFD), systemPath]
                }
            }
        }
        args += ["--chdir", "/workspace"]

        // Environment built from nothing: no variable of the harness leaks in.
        args += ["--clearenv"]
        for (key, value) in environment(configuration).sorted(by: { $0.key < $1.key }) {
            args += ["--setenv", key, value]
        }

        if let seccomp {
            files[Self.seccompFD] = seccomp
            args += ["--seccomp", String(Self.seccompFD)]
        }
        args += ["--", Self.guestPathInside] + guestArguments
        return LaunchPlan(argv: args, dataFiles: files)
    }

    /// The environment every command starts from (requests add their own on top).
    public func environment(_ configuration: SandboxConfiguration) -> [String: String] {
        SandboxEnvironment.standard(configuration)
    }

    static let passwd = SandboxEnvironment.passwd
    static let group = SandboxEnvironment.group
}
