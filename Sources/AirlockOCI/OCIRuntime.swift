import AirlockSandboxHost
import Foundation
import Glibc

/// An OCI runtime binary and how Airlock drives it: always in the foreground with pipes
/// (never a TTY), its state under a private root, one container per sandbox.
public struct OCIRuntime: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case crun, runc, runsc
    }

    public var kind: Kind
    public var path: String

    public init(kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    /// The runtime on PATH: `$RUNSC` for runsc when set.
    public static func find(_ kind: Kind) -> OCIRuntime? {
        if kind == .runsc, let explicit = ProcessInfo.processInfo.environment["RUNSC"], !explicit.isEmpty {
            return OCIRuntime(kind: .runsc, path: explicit)
        }
        return ExecutableLookup.find(kind.rawValue).map { OCIRuntime(kind: kind, path: $0) }
    }

    /// crun first (about twice as fast to start as runc), then runc.
    public static func preferred() -> OCIRuntime? { find(.crun) ?? find(.runc) }

    /// "crun 1.8.1", "runc 1.1.5+ds1", "runsc 0.0~20221219.0".
    public var version: String {
        let line = ExecutableLookup.cachedVersion(path) ?? "?"
        // "crun version 1.8.1", "runc version 1.1.5", "runsc version 0.0~2022…"
        let number = line.components(separatedBy: "version ").last ?? line
        return "\(kind.rawValue) \(number)"
    }

    /// Where this harness keeps runtime state (containers by id); private to root or the user.
    static var stateRoot: String {
        let base = geteuid() == 0 ? "/run/airlock/oci" : (NSTemporaryDirectory() + "airlock-oci-\(geteuid())")
        return base
    }

    public static let installFix = "apt-get install -y crun (or runc); gVisor: apt-get install -y runsc, or --runsc PATH / $RUNSC"

    /// Global flags before the subcommand.
    func globalArguments(root: String) -> [String] {
        switch kind {
        case .crun: return ["--root", root, "--cgroup-manager=disabled"]
        case .runc: return ["--root", root]
        case .runsc:
            // --host-uds=open: the proxy socket bound in is reachable; nothing else of the
            // host is bound, so no other socket is.
            var flags = ["--root", root, "--network=none", "--ignore-cgroups", "--oci-seccomp", "--host-uds=open"]
            if geteuid() != 0 { flags.append("--rootless") }
            return flags
        }
    }

    /// `run --bundle DIR ID`, in the foreground.
    func runArguments(bundle: String, id: String, root: String) -> [String] {
        [path] + globalArguments(root: root) + ["run", "--bundle", bundle, id]
    }

    /// Ends a container and forgets it, bounded in time (a runtime that hangs is killed).
    func forceDelete(id: String, root: String) {
        _ = ExecutableLookup.output(path, globalArguments(root: root) + ["kill", id, "KILL"], timeout: 2)
        _ = ExecutableLookup.output(path, globalArguments(root: root) + ["delete", "--force", id], timeout: 5)
    }
}
