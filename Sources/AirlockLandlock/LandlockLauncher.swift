import AirlockSandbox
import AirlockSandboxHost
import Glibc

/// Turns a sandbox configuration into what the Landlock tier applies: which host paths the
/// guest may read and write, its environment, arguments and limits. A pure function of its
/// inputs, like the bwrap launcher, so tests read exactly what a sandbox can reach.
public struct LandlockLauncher: Sendable {
    /// What `start` applies to the guest process.
    public struct Plan: Sendable, Hashable {
        public var argv: [String]
        public var environment: [String: String]
        public var workingDirectory: String
        /// Beneath these: read and execute only.
        public var readPaths: [String]
        /// Beneath these: every file right the ABI knows.
        public var writePaths: [String]
        public var rlimits: [Limit]
    }

    public struct Limit: Sendable, Hashable {
        public var name: String
        public var resource: Int32
        public var value: UInt64
    }

    public var layout: HostLayout

    public init(layout: HostLayout) {
        self.layout = layout
    }

    /// Device nodes programs expect; the rest of /dev stays out of reach.
    static let devices = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]

    /// - Parameters:
    ///   - guestOnHost: the guest executable (read and executed in place).
    ///   - privateTemp: a directory only this sandbox uses, its `$TMPDIR`.
    public func plan(for configuration: SandboxConfiguration, guestOnHost: String, privateTemp: String) -> Plan {
        var read = layout.systemEntries.map { entry -> String in
            switch entry {
            case .directory(let path): return path
            case .symlink(let path, _): return path
            }
        }
        // Identity lookups see the host's passwd and group (no secrets there; shadow stays
        // out); /proc is the host's: other processes of the sandbox uid are visible.
        read += layout.etcFiles + ["/etc/passwd", "/etc/group", "/proc", guestOnHost]
        read += Self.devices.filter { $0 != "/dev/null" }
        let write = [configuration.workspace, privateTemp, "/dev/null"]
        return Plan(argv: [guestOnHost, "--workspace", configuration.workspace, "--own-session"],
                    environment: environment(configuration, privateTemp: privateTemp),
                    workingDirectory: configuration.workspace,
                    readPaths: read, writePaths: write, rlimits: limits(configuration))
    }

    /// Built from nothing, like bwrap's `--clearenv`: no variable of the harness leaks in.
    public func environment(_ configuration: SandboxConfiguration, privateTemp: String) -> [String: String] {
        var env = [
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "HOME": configuration.workspace,
            "AIRLOCK_WORKSPACE": configuration.workspace,
            "USER": "agent",
            "LOGNAME": "agent",
            "SHELL": "/bin/sh",
            "LANG": "C.UTF-8",
            "TMPDIR": privateTemp,
        ]
        if configuration.network == .proxy, let egress = configuration.egress {
            // No loopback relay here (no TCP socket can be made): clients speak HTTP to the
            // proxy's Unix socket itself, e.g. curl --unix-socket "$AIRLOCK_EGRESS_SOCKET".
            env["AIRLOCK_EGRESS_SOCKET"] = egress.socketOnHost
            if egress.certificateAuthorityPEM != nil {
                for (key, value) in egress.environment where value == EgressAttachment.bundleInside {
                    env[key] = privateTemp + "/ca-bundle.pem"
                }
                env["NODE_EXTRA_CA_CERTS"] = privateTemp + "/egress-ca.pem"
            }
        }
        for (key, value) in configuration.environment { env[key] = value }
        return env
    }

    /// Processes, address space, file size, open files and CPU time. The address space
    /// follows the memory budget (with room for mappings that are never touched); without
    /// one it is left alone, as runtimes such as Node reserve far more than they use.
    func limits(_ configuration: SandboxConfiguration) -> [Limit] {
        var limits = [
            Limit(name: "processes", resource: Resource.processes,
                  value: UInt64(configuration.limits.pids ?? 4096)),
            Limit(name: "open files", resource: Resource.openFiles, value: 4096),
            Limit(name: "file size", resource: Resource.fileSize,
                  value: UInt64(max(configuration.tmpSize, 4 << 30))),
            Limit(name: "cpu seconds", resource: Resource.cpu, value: 3600),
        ]
        if let memory = configuration.limits.memoryBytes {
            limits.append(Limit(name: "address space", resource: Resource.addressSpace,
                                value: UInt64(memory) * 2 + (1 << 30)))
        }
        return limits
    }
}

/// setrlimit(2) resource numbers (Linux's generic values; glibc's macros do not import).
enum Resource {
    static let cpu: Int32 = 0
    static let fileSize: Int32 = 1
    static let processes: Int32 = 6
    static let openFiles: Int32 = 7
    static let addressSpace: Int32 = 9
}
