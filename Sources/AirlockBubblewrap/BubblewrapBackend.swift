import AirlockProtocol
import AirlockSandbox
import AirlockSandboxHost
import CAirlockSys
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// The default backend: bubblewrap with every namespace, seccomp, cgroup limits, and an
/// unprivileged host uid.
public struct BubblewrapBackend: SandboxBackend {
    public let name = "bwrap"
    public var version: String { "bwrap " + (ExecutableLookup.cachedVersion(bwrapPath)?.split(separator: " ").last.map(String.init) ?? "?") }
    public var bwrapPath: String
    public var layout: HostLayout
    public var cgroups: CgroupHost
    /// How long the guest may take to greet before the start counts as failed.
    public var startTimeout: Duration = .seconds(20)

    public init(bwrapPath: String? = nil, layout: HostLayout = .current(), cgroups: CgroupHost = .detect()) {
        self.bwrapPath = bwrapPath ?? Self.findBwrap() ?? "/usr/bin/bwrap"
        self.layout = layout
        self.cgroups = cgroups
    }

    public static func findBwrap() -> String? {
        ExecutableLookup.find("bwrap")
    }

    public func start(_ configuration: SandboxConfiguration) async throws(SandboxError) -> any Sandbox {
        do {
            return try await startOnce(configuration)
        } catch {
            // An overlay the kernel or file system refused (no idmapped mounts there): the
            // per-sandbox copy always works.
            guard case .image(var image) = configuration.root, image.writable == .overlay,
                  error.kind == .startFailed, error.message.hasPrefix("cannot start") else { throw error }
            image.writable = .copy
            var fallback = configuration
            fallback.root = .image(image)
            return try await startOnce(fallback)
        }
    }

    private func startOnce(_ configuration: SandboxConfiguration) async throws(SandboxError) -> any Sandbox {
        let began = ContinuousClock.now
        guard access(bwrapPath, X_OK) == 0 else {
            throw SandboxError(.unavailable, "bubblewrap (bwrap) is not installed",
                               fix: "apt-get install -y bubblewrap")
        }
        var configuration = configuration
        configuration.workspace = try SandboxStart.checkedWorkspace(configuration.workspace)
        let identity = try SandboxIdentity.resolve(workspace: configuration.workspace,
                                                   keepRoot: configuration.weakenings.contains(.keepRootUID))
        _ = try SandboxStart.egress(configuration, identity: identity)
        var guest = try GuestBinary.locate(configuration.guestPath)
        let seccomp: [UInt8]? = configuration.weakenings.contains(.noSeccomp)
            ? nil : try SeccompFilter.program()
        let launcher = BubblewrapLauncher(bwrapPath: bwrapPath, layout: layout)
        var plan: LaunchPlan
        var imageSetup: ImageRootSetup?
        switch configuration.root {
        case .host:
            if identity.changesIDs { guest = try GuestBinary.staged(guest) }
            plan = launcher.plan(for: configuration, guestOnHost: guest, seccomp: seccomp)
        case .image(let image):
            let bundle = try GuestBundle.stage(guest)
            let setup = try ImageRootSetup.prepare(image, identity: identity)
            imageSetup = setup
            plan = launcher.planImage(for: configuration, image: image, rootOnHost: setup.rootOnHost,
                                      guest: bundle, seccomp: seccomp)
            plan.bindSource = setup.bindSource
            plan.bindTarget = setup.bindTarget
            plan.overlay = setup.overlay
        }

        let id = SandboxStart.newID()
        let group: (any ControlGroup)?
        do throws(SandboxError) {
            group = try cgroups.makeGroup(name: id, limits: configuration.limits)
        } catch {
            imageSetup?.cleanup()
            throw error
        }
        do throws(SandboxError) {
            let process = try await SandboxProcess.spawn(plan: plan, identity: identity, cgroup: group)
            let sandbox = ProcessSandbox(id: id, process: process, cgroup: group, identity: identity,
                                         workspace: configuration.workspace,
                                         teardown: Self.teardown(imageSetup))
            try await SandboxStart.greet(sandbox, began: began, timeout: startTimeout, what: "bwrap",
                                         fixHint: Self.fixHint)
            return sandbox
        } catch {
            group?.killAll()
            group?.remove()
            identity.giveBack(configuration.workspace)
            imageSetup?.cleanup()
            throw error
        }
    }

    /// An image sandbox's private copy goes once the sandbox is gone.
    static func teardown(_ setup: ImageRootSetup?) -> (@Sendable () -> Void)? {
        guard let setup else { return nil }
        return { setup.cleanup() }
    }

    package static func fixHint(_ detail: String) -> String? {
        if detail.contains("setting up uid map") || detail.contains("to create new namespace")
            || detail.contains("Operation not permitted") {
            return "enable unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1 (and user.max_user_namespaces > 0); inside a container that refuses them, use --sandbox landlock (or auto); `airlock doctor` checks this"
        }
        if detail.contains("Can't find source path") || detail.contains("Permission denied") {
            return "the sandbox user must be able to reach the workspace: put it under a directory others can traverse (e.g. /srv or /tmp), not under /root"
        }
        return nil
    }
}
