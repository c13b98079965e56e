import AirlockSandbox
import AirlockSandboxHost
import CAirlockSys
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// The tier that needs no namespaces: the guest runs as a plain host process confined by
/// Landlock (files, TCP, signals, abstract sockets), seccomp (our filter plus AF_UNIX-only
/// sockets), resource limits, a cgroup where the host has one, and an unprivileged uid
/// when the harness is root. It works where user namespaces are refused, such as inside a
/// Docker container with the default seccomp profile. See docs/tiers.md for what it cannot
/// hide.
public struct LandlockBackend: SandboxBackend {
    public let name = "landlock"
    public var layout: HostLayout
    public var cgroups: CgroupHost
    public var startTimeout: Duration = .seconds(20)

    public init(layout: HostLayout = .current(), cgroups: CgroupHost = .detect()) {
        self.layout = layout
        self.cgroups = cgroups
    }

    /// The Landlock ABI the kernel offers, 0 when it has none (or it is disabled).
    public static var abi: Int { Int(airlock_landlock_abi()) }

    public var version: String {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return "landlock ABI \(Self.abi) (Linux \(release))"
    }

    public static let unavailableFix =
        "boot a kernel with Landlock enabled (CONFIG_SECURITY_LANDLOCK=y and `landlock` in the lsm= boot parameter); Linux 6.7+ gives TCP rules, 6.12+ signal and socket scoping"

    public func start(_ configuration: SandboxConfiguration) async throws(SandboxError) -> any Sandbox {
        let began = ContinuousClock.now
        let abi = Self.abi
        guard abi >= 1 else {
            throw SandboxError(.unavailable, "this kernel offers no Landlock", fix: Self.unavailableFix)
        }
        if case .image = configuration.root {
            throw SandboxError(.configuration, "the landlock tier runs on the host's own /usr and cannot use an image",
                               fix: "use --sandbox bwrap or --sandbox oci with --image")
        }
        guard configuration.socketBinds.isEmpty else {
            throw SandboxError(.configuration, "the landlock tier cannot bind sockets to other paths",
                               fix: "use --sandbox bwrap or oci")
        }
        var configuration = configuration
        configuration.workspace = try SandboxStart.checkedWorkspace(configuration.workspace)
        let identity = try SandboxIdentity.resolve(workspace: configuration.workspace,
                                                   keepRoot: configuration.weakenings.contains(.keepRootUID))
        let egress = try SandboxStart.egress(configuration, identity: identity)
        var guest = try GuestBinary.locate(configuration.guestPath)
        if identity.changesIDs { guest = try GuestBinary.staged(guest) }
        let privateTemp = try Self.makePrivateTemp(for: identity, egress: egress)
        let plan = LandlockLauncher(layout: layout)
            .plan(for: configuration, guestOnHost: guest, privateTemp: privateTemp)

        var filters: [[UInt8]] = []
        if !configuration.weakenings.contains(.noSeccomp) {
            filters = [try SeccompFilter.program(), try SeccompFilter.unixOnlyProgram()]
        }
        let ruleset = try Self.ruleset(abi: abi, plan: plan)
        defer { close(ruleset) }
        var confinement = Confinement(rlimits: plan.rlimits.map { ($0.resource, $0.value) },
                                      landlockRuleset: ruleset, filters: filters,
                                      environment: plan.environment, workingDirectory: plan.workingDirectory)
        // The guest sees its stdin close when the harness dies and ends its session itself.
        confinement.parentDeathSignal = 0
        let id = SandboxStart.newID()
        let workspace = configuration.workspace
        let removeTemp: @Sendable () -> Void = { try? FileManager.default.removeItem(atPath: privateTemp) }
        let group: (any ControlGroup)?
        do throws(SandboxError) {
            group = try cgroups.makeGroup(name: id, limits: configuration.limits)
        } catch {
            removeTemp()
            identity.giveBack(workspace)
            throw error
        }
        do throws(SandboxError) {
            let launch = LaunchPlan(argv: plan.argv)
            let process = try await SandboxProcess.spawn(plan: launch, identity: identity, cgroup: group,
                                                         confinement: confinement)
            let sandbox = ProcessSandbox(id: id, process: process, cgroup: group, identity: identity,
                                         workspace: workspace, killsProcessGroup: true, teardown: removeTemp)
            try await SandboxStart.greet(sandbox, began: began, timeout: startTimeout, what: "landlock") { _ in nil }
            return sandbox
        } catch {
            group?.killAll()
            group?.remove()
            removeTemp()
            identity.giveBack(workspace)
            throw error
        }
    }

    static func ruleset(abi: Int, plan: LandlockLauncher.Plan) throws(SandboxError) -> Int32 {
        let fd = withCStringArray(plan.readPaths) { read in
            withCStringArray(plan.writePaths) { write in
                airlock_landlock_ruleset(Int32(abi), UnsafeRawPointer(read).assumingMemoryBound(to: UnsafePointer<CChar>?.self),
                                         Int32(plan.readPaths.count),
                                         UnsafeRawPointer(write).assumingMemoryBound(to: UnsafePointer<CChar>?.self),
                                         Int32(plan.writePaths.count))
            }
        }
        guard fd >= 0 else {
            throw SandboxError(.unavailable, "cannot build the Landlock ruleset: \(String(cString: strerror(errno)))",
                               fix: unavailableFix)
        }
        return fd
    }

    /// `$TMPDIR` for this sandbox only, owned by its uid, mode 0700; the egress CA files
    /// go here too (there is no mount to put them at a fixed path).
    static func makePrivateTemp(for identity: SandboxIdentity, egress: EgressAttachment?) throws(SandboxError) -> String {
        StaleSweep.once("landlock-tmp") {
            for name in StaleSweep.orphans(in: "/tmp", prefix: "airlock-landlock-") {
                try? FileManager.default.removeItem(atPath: "/tmp/" + name)
            }
        }
        var template = Array("/tmp/airlock-landlock-\(getpid())-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw SandboxError(.configuration, "cannot make a private temporary directory: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: made)
        if let egress, let ca = egress.certificateAuthorityPEM, let bundle = egress.bundlePEM {
            FileManager.default.createFile(atPath: path + "/egress-ca.pem", contents: Data(ca.utf8))
            FileManager.default.createFile(atPath: path + "/ca-bundle.pem", contents: Data(bundle.utf8))
        }
        if identity.changesIDs {
            for file in [path, path + "/egress-ca.pem", path + "/ca-bundle.pem"] where access(file, F_OK) == 0 {
                guard chown(file, identity.uid, identity.gid) == 0 else {
                    try? FileManager.default.removeItem(atPath: path)
                    throw SandboxError(.configuration, "cannot give \(file) to uid \(identity.uid)")
                }
            }
        }
        return path
    }
}
