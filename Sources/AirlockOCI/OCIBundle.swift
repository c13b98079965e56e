import AirlockSandbox
import AirlockSandboxHost
import Foundation

/// A sandbox configuration as an OCI runtime bundle: `config.json` and the skeleton of
/// its root. A pure function of its inputs (the backend writes the result), so tests read
/// exactly what the runtime is told.
public struct OCIBundle: Sendable, Hashable {
    public static let guestPathInside = "/.airlock/airlock-guest"
    public static let insideUID: UInt32 = 1000

    /// What the root directory must hold before the runtime starts: mount points and the
    /// merged-/usr symlinks (the runtime's user namespace cannot create them there).
    public enum Skeleton: Sendable, Hashable {
        case directory(String)
        case file(String)
        case symlink(String, target: String)
    }

    /// Host uid (and gid) the sandbox's user maps to, and the one its root maps to.
    public struct Mapping: Sendable, Hashable {
        public var uid: UInt32
        public var gid: UInt32
        /// nil for a rootless runtime, which may map only its own uid.
        public var rootUID: UInt32?

        public init(uid: UInt32, gid: UInt32, rootUID: UInt32?) {
            self.uid = uid
            self.gid = gid
            self.rootUID = rootUID
        }
    }

    public var runtime: OCIRuntime.Kind
    public var layout: HostLayout
    public var mapping: Mapping
    /// Where generated files (passwd, group, CA bundles) sit on the host.
    public var generatedDirectory: String
    /// Where a sandbox's own CA bundles sit, when not in `generatedDirectory` (which the
    /// backend shares between sandboxes).
    public var egressDirectory: String?
    /// The runtime's cgroup path when it manages limits itself (runc); nil when Airlock's
    /// own group contains the runtime (crun, runsc).
    public var cgroupsPath: String?

    public init(runtime: OCIRuntime.Kind, layout: HostLayout, mapping: Mapping, generatedDirectory: String,
                cgroupsPath: String? = nil) {
        self.runtime = runtime
        self.layout = layout
        self.mapping = mapping
        self.generatedDirectory = generatedDirectory
        self.cgroupsPath = cgroupsPath
    }

    /// Entries of an image's root that are never bound from it: the sandbox makes its own.
    static let ownEntries: Set<String> = ["proc", "dev", "sys", "tmp", "workspace", "run", ".airlock"]

    /// The system entries the root shows: the host's /usr and friends, or every top-level
    /// entry of the image (`imageEntries`, read by the backend).
    public func systemEntries(_ configuration: SandboxConfiguration, imageEntries: [HostLayout.Entry]) -> [HostLayout.Entry] {
        switch configuration.root {
        case .host: return layout.systemEntries
        case .image: return imageEntries
        }
    }

    /// config.json as a JSON object, and the root's skeleton.
    /// - Parameter guestLibraries: with an image root, the host loader and libraries the
    ///   guest is started with (bound under /.airlock/lib), nil for a static guest.
    public func generate(_ configuration: SandboxConfiguration, guestOnHost: String,
                         imageEntries: [HostLayout.Entry] = [], imageFiles: [String] = [],
                         guestLibraries: GuestLibraries? = nil) -> (config: [String: Any], skeleton: [Skeleton]) {
        var mounts: [[String: Any]] = [
            ["destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]],
            ["destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]],
            ["destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]],
            ["destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777", "size=\(configuration.tmpSize)"]],
        ]
        var skeleton: [Skeleton] = [.directory("/proc"), .directory("/dev"), .directory("/tmp"),
                                    .directory("/workspace"), .directory("/.airlock"), .directory("/etc"),
                                    .directory("/run/airlock")]
        func bind(_ source: String, _ destination: String, writable: Bool = false) {
            mounts.append(["destination": destination, "type": "bind", "source": source,
                           "options": ["rbind", writable ? "rw" : "ro", "nosuid", "nodev"]])
        }
        let system = systemEntries(configuration, imageEntries: imageEntries)
        let rootOnHost: String
        switch configuration.root {
        case .host: rootOnHost = ""
        case .image(let image): rootOnHost = image.rootfs
        }
        for entry in system {
            switch entry {
            case .directory(let path):
                skeleton.append(.directory(path))
                bind(rootOnHost + path, path)
            case .symlink(let path, let target):
                skeleton.append(.symlink(path, target: target))
            }
        }
        for path in imageFiles {
            skeleton.append(.file(path))
            bind(rootOnHost + path, path)
        }
        if case .host = configuration.root {
            // From /etc only the allow-list; passwd and group are generated.
            for path in layout.etcFiles {
                var isDirectory: ObjCBool = false
                FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                skeleton.append(isDirectory.boolValue ? .directory(path) : .file(path))
                bind(path, path)
            }
            for name in ["passwd", "group"] {
                skeleton.append(.file("/etc/" + name))
                bind(generatedDirectory + "/" + name, "/etc/" + name)
            }
        }
        bind(configuration.workspace, "/workspace", writable: true)
        skeleton.append(.file(Self.guestPathInside))
        bind(guestOnHost, Self.guestPathInside)
        var args = [Self.guestPathInside]
        if case .image = configuration.root, let guestLibraries {
            // The image may lack the guest's libc: the host's loader runs it with the host's
            // libraries, bound beside it; the commands it starts use the image's own.
            var bound: Set<String> = []
            for library in [guestLibraries.loader] + guestLibraries.libraries {
                let inside = "/.airlock/lib/" + (library as NSString).lastPathComponent
                guard bound.insert(inside).inserted else { continue }
                skeleton.append(.file(inside))
                bind(library, inside)
            }
            args = ["/.airlock/lib/" + (guestLibraries.loader as NSString).lastPathComponent,
                    "--library-path", "/.airlock/lib", Self.guestPathInside]
        }
        if configuration.network == .proxy, let egress = configuration.egress {
            skeleton.append(.file(EgressAttachment.socketInside))
            bind(egress.socketOnHost, EgressAttachment.socketInside, writable: true)
            args += ["--egress-relay", "\(egress.port)=\(EgressAttachment.socketInside)"]
            if egress.certificateAuthorityPEM != nil {
                for (file, inside) in [("egress-ca.pem", EgressAttachment.caInside), ("ca-bundle.pem", EgressAttachment.bundleInside)] {
                    skeleton.append(.file(inside))
                    bind((egressDirectory ?? generatedDirectory) + "/" + file, inside)
                }
                if let systemPath = egress.systemBundlePath, case .host = configuration.root {
                    skeleton.append(.file(systemPath))
                    bind((egressDirectory ?? generatedDirectory) + "/ca-bundle.pem", systemPath)
                }
            }
        }
        let environment = SandboxEnvironment.standard(configuration)
            .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let process: [String: Any] = [
            "terminal": false,
            "user": ["uid": Self.insideUID, "gid": Self.insideUID],
            "args": args,
            "env": environment,
            "cwd": "/workspace",
            "noNewPrivileges": true,
            "capabilities": ["bounding": [String](), "effective": [String](), "permitted": [String](),
                             "inheritable": [String](), "ambient": [String]()],
            "rlimits": [["type": "RLIMIT_NOFILE", "hard": 4096, "soft": 4096]],
        ]
        var linux: [String: Any] = [
            "namespaces": ["pid", "network", "ipc", "uts", "mount", "user"].map { ["type": $0] }
                + (runtime == .runsc ? [] : [["type": "cgroup"]]),
            "uidMappings": mappings(uid: true),
            "gidMappings": mappings(uid: false),
            "maskedPaths": Self.maskedPaths,
            "readonlyPaths": Self.readonlyPaths,
            "seccomp": OCISeccomp.profile(clone3: runtime != .runsc),
        ]
        if let cgroupsPath {
            linux["cgroupsPath"] = cgroupsPath
            linux["resources"] = resources(configuration.limits)
        }
        let config: [String: Any] = [
            "ociVersion": "1.0.2",
            "process": process,
            "root": ["path": "rootfs", "readonly": true],
            "hostname": "airlock",
            "mounts": mounts,
            "linux": linux,
        ]
        return (config, skeleton)
    }

    func mappings(uid: Bool) -> [[String: Any]] {
        var list: [[String: Any]] = [["containerID": Self.insideUID, "hostID": uid ? mapping.uid : mapping.gid, "size": 1]]
        if let root = mapping.rootUID { list.insert(["containerID": 0, "hostID": root, "size": 1], at: 0) }
        return list
    }

    func resources(_ limits: ResourceLimits) -> [String: Any] {
        var resources: [String: Any] = [:]
        if let memory = limits.memoryBytes { resources["memory"] = ["limit": memory, "swap": memory] }
        if let pids = limits.pids { resources["pids"] = ["limit": pids] }
        if let cpus = limits.cpus { resources["cpu"] = ["quota": Int(cpus * 100_000), "period": 100_000] }
        return resources
    }

    static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
}
