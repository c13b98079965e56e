import AirlockSandbox
import AirlockSandboxHost
import Foundation
import Glibc

/// Sandboxes run by an OCI runtime from a generated bundle: crun (preferred) or runc as
/// the `oci` tier, runsc as the `gvisor` tier. The runtime runs in the foreground with the
/// guest's stdin and stdout as its pipes; Airlock's cgroup contains it (runc manages its
/// own from the bundle's limits).
public struct OCIBackend: SandboxBackend {
    public var runtime: OCIRuntime
    public var layout: HostLayout
    public var cgroups: CgroupHost
    public var startTimeout: Duration = .seconds(20)
    /// Tests only: edits config.json (given the bundle's path) before the runtime reads it.
    package var editConfig: (@Sendable (String, inout Data) -> Void)?
    /// Benchmarks only: told the name of each step of `start` as it ends (the bench's breakdown).
    package var phaseObserver: (@Sendable (String) -> Void)?

    public init(runtime: OCIRuntime, layout: HostLayout = .current(), cgroups: CgroupHost = .detect()) {
        self.runtime = runtime
        self.layout = layout
        self.cgroups = cgroups
    }

    public var name: String { runtime.kind == .runsc ? "gvisor" : "oci" }
    public var version: String { runtime.version }

    public func start(_ configuration: SandboxConfiguration) async throws(SandboxError) -> any Sandbox {
        let began = ContinuousClock.now
        guard access(runtime.path, X_OK) == 0 else {
            throw SandboxError(.unavailable, "the OCI runtime \(runtime.path) is not installed or not executable",
                               fix: runtime.kind == .runsc ? "apt-get install -y runsc, or pass --runsc PATH (or set $RUNSC)"
                                   : "apt-get install -y \(runtime.kind.rawValue)")
        }
        var configuration = configuration
        configuration.workspace = try SandboxStart.checkedWorkspace(configuration.workspace)
        var imageEntries: [HostLayout.Entry] = []
        var imageFiles: [String] = []
        if case .image(let image) = configuration.root {
            guard image.writable == .readOnly else {
                throw SandboxError(.configuration, "the \(name) tier shows an image read-only; a \(image.writable.rawValue) root needs bwrap",
                                   fix: "use --sandbox bwrap, or a read-only image root")
            }
            (imageEntries, imageFiles) = try Self.topLevel(of: image.rootfs)
        }
        let identity = try SandboxIdentity.resolve(workspace: configuration.workspace,
                                                   keepRoot: configuration.weakenings.contains(.keepRootUID))
        let egress = try SandboxStart.egress(configuration, identity: identity)
        var guest = try GuestBinary.locate(configuration.guestPath)
        if identity.changesIDs { guest = try GuestBinary.staged(guest) }
        phaseObserver?("checks")

        let id = SandboxStart.newID()
        // One directory per runtime: its state format is its own, and so is the sweep.
        let root = OCIRuntime.stateRoot + "/" + runtime.kind.rawValue
        Self.sweepStale(runtime: runtime, root: root)
        phaseObserver?("sweep")
        let bundle = root + "/bundles/" + id
        let runtime = self.runtime
        let removeBundle: @Sendable () -> Void = { try? FileManager.default.removeItem(atPath: bundle) }
        let stop: @Sendable () -> Void = { runtime.forceDelete(id: id, root: root + "/state") }
        let managesCgroup = runtime.kind == .runc && geteuid() == 0
        let mapping = OCIBundle.Mapping(uid: identity.uid, gid: identity.gid,
                                        rootUID: geteuid() == 0 ? (identity.uid == 65534 ? 65533 : 65534) : nil)
        let group: (any ControlGroup)?
        do throws(SandboxError) {
            var generator = OCIBundle(runtime: runtime.kind, layout: layout, mapping: mapping,
                                      generatedDirectory: try OCISharedParts.generated(under: root),
                                      cgroupsPath: managesCgroup ? "/airlock-oci/\(id)" : nil)
            // Only CA bundles are the sandbox's own; without them the config is the same
            // for every sandbox of this configuration.
            if egress?.certificateAuthorityPEM != nil { generator.egressDirectory = bundle + "/generated" }
            var libraries: GuestLibraries?
            if case .image = configuration.root {
                do { libraries = try GuestLibraries.resolve(guest) } catch {
                    throw SandboxError(.unavailable, error.message, fix: "install libc-bin (ldd), or use a static guest")
                }
            }
            let key = OCIConfigCache.Key(bundle: generator, configuration: configuration, guest: guest,
                                         imageEntries: imageEntries, imageFiles: imageFiles, libraries: libraries)
            let config = try OCIConfigCache.encoded(key, sharedUnder: root)
            phaseObserver?("generate")
            try OCIBundleWriter.writeOwn(bundle: bundle, config: config, egress: egress, editConfig: editConfig)
            try OCISharedParts.makeDirectories(root + "/state", mode: 0o700)
            phaseObserver?("write bundle")
            group = managesCgroup ? nil : try cgroups.makeGroup(name: id, limits: configuration.limits)
            phaseObserver?("cgroup")
        } catch {
            removeBundle()
            identity.giveBack(configuration.workspace)
            throw error
        }
        let sandbox: ProcessSandbox
        do throws(SandboxError) {
            var confinement = Confinement(environment: ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                                          workingDirectory: bundle)
            confinement.noNewPrivileges = false
            confinement.detachMount = runtime.kind == .crun ? Self.hybridUnifiedMount(cgroups) : nil
            let plan = LaunchPlan(argv: runtime.runArguments(bundle: bundle, id: id, root: root + "/state"))
            let process = try await SandboxProcess.spawn(plan: plan, identity: .harness, cgroup: group,
                                                         confinement: confinement)
            sandbox = ProcessSandbox(id: id, process: process, cgroup: group, identity: identity,
                                     workspace: configuration.workspace, stop: stop, teardown: removeBundle)
            phaseObserver?("spawn")
        } catch {
            stop()
            group?.killAll()
            group?.remove()
            removeBundle()
            identity.giveBack(configuration.workspace)
            throw error
        }
        // A failed greeting kills the sandbox, which stops the runtime and removes the bundle.
        try await SandboxStart.greet(sandbox, began: began, timeout: startTimeout, what: name) { detail in
            Self.fixHint(detail, runtime: runtime)
        }
        phaseObserver?("hello")
        return sandbox
    }

    /// Containers and bundles of harnesses that died without ending their sandboxes (their
    /// processes died with them: the guest exits when its stdin closes).
    static func sweepStale(runtime: OCIRuntime, root: String) {
        StaleSweep.once(root) {
            for name in StaleSweep.orphans(in: root + "/bundles", prefix: "sbx-") {
                runtime.forceDelete(id: name, root: root + "/state")
                try? FileManager.default.removeItem(atPath: root + "/bundles/" + name)
            }
        }
    }

    /// crun refuses a hybrid host whose cgroup v2 hierarchy holds controllers, even with
    /// cgroups disabled; it runs in a mount namespace without that hierarchy instead
    /// (Airlock's own group, joined before exec, still contains it).
    package static func hybridUnifiedMount(_ cgroups: CgroupHost) -> String? {
        guard geteuid() == 0, let v2 = cgroups.v2Mount, v2 != "/sys/fs/cgroup", !cgroups.v2Controllers.isEmpty else { return nil }
        return v2
    }

    /// An image root's top-level entries: directories and symlinks, and plain files.
    static func topLevel(of rootfs: String) throws(SandboxError) -> ([HostLayout.Entry], [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: rootfs) else {
            throw SandboxError(.configuration, "the image root \(rootfs) cannot be read",
                               fix: "pull or unpack the image again (airlock image pull)")
        }
        var entries: [HostLayout.Entry] = []
        var files: [String] = []
        for name in names.sorted() where !OCIBundle.ownEntries.contains(name) {
            let path = rootfs + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR: entries.append(.directory("/" + name))
            case S_IFLNK:
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                    entries.append(.symlink("/" + name, target: target))
                }
            case S_IFREG: files.append("/" + name)
            default: continue
            }
        }
        return (entries, files)
    }

    static func fixHint(_ detail: String, runtime: OCIRuntime) -> String? {
        if detail.isEmpty {
            return "\(runtime.path) printed nothing; check it runs: \(runtime.path) --version"
        }
        if detail.contains("user namespace") || detail.contains("uid_map") || detail.contains("Operation not permitted") {
            return "this host refuses the runtime's user namespace; try --sandbox landlock (`airlock doctor` shows the tiers that work here)"
        }
        if detail.contains("config.json") || detail.contains("invalid") || detail.contains("parse") {
            return "the generated bundle was rejected; report it with the runtime's version (\(runtime.version))"
        }
        return "see the runtime's message above; `airlock doctor` checks each tier"
    }
}
