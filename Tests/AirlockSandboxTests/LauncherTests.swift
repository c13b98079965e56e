import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Testing
@testable import AirlockBubblewrap
@testable import AirlockSandboxHost

/// The bwrap command line is a pure function of the configuration: read it, start nothing.
@Suite("Launcher")
struct LauncherTests {
    static let workspace = "/srv/airlock-launcher-test/project"
    static let stateDir = "/root/.local/state/airlock"
    static let seccomp: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]

    /// A layout as on a merged-/usr Debian host, plus the real one of this machine.
    static let layouts: [HostLayout] = [
        HostLayout(systemEntries: [.directory("/usr"), .symlink("/bin", target: "usr/bin"),
                                   .symlink("/lib", target: "usr/lib"), .symlink("/lib64", target: "usr/lib64"),
                                   .symlink("/sbin", target: "usr/sbin")],
                   etcFiles: ["/etc/ld.so.cache", "/etc/ssl", "/etc/nsswitch.conf", "/etc/alternatives"]),
        HostLayout.current(),
    ]

    static func plan(_ layout: HostLayout, _ edit: (inout SandboxConfiguration) -> Void = { _ in }) -> LaunchPlan {
        var configuration = SandboxConfiguration(workspace: workspace)
        edit(&configuration)
        return BubblewrapLauncher(bwrapPath: "/usr/bin/bwrap", layout: layout)
            .plan(for: configuration, guestOnHost: "/run/airlock/bin/airlock-guest-test", seccomp: seccomp)
    }

    /// (operation, source, destination) of every two-argument mount operation.
    static func binds(_ argv: [String]) -> [(op: String, source: String, destination: String)] {
        let ops: Set<String> = ["--bind", "--ro-bind", "--bind-try", "--ro-bind-try", "--dev-bind",
                                "--dev-bind-try", "--bind-fd", "--ro-bind-fd", "--ro-bind-data"]
        var result: [(String, String, String)] = []
        var index = 0
        while index < argv.count {
            if ops.contains(argv[index]), index + 2 < argv.count {
                result.append((argv[index], argv[index + 1], argv[index + 2]))
                index += 3
            } else {
                index += 1
            }
        }
        return result
    }

    /// The options before the `--` that ends bwrap's own arguments.
    static func options(_ argv: [String]) -> [String] {
        Array(argv.prefix { $0 != "--" })
    }

    static func containsPair(_ argv: [String], _ first: String, _ second: String) -> Bool {
        zip(argv, argv.dropFirst()).contains { $0 == first && $1 == second }
    }

    @Test("all namespaces, die-with-parent, new session, no capabilities", arguments: layouts)
    func namespacesAndPrivileges(layout: HostLayout) {
        let argv = Self.options(Self.plan(layout).argv)
        #expect(argv.first == "/usr/bin/bwrap")
        for flag in ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--disable-userns"] {
            #expect(argv.contains(flag), "missing \(flag)")
        }
        #expect(Self.containsPair(argv, "--cap-drop", "ALL"))
        #expect(!argv.contains("--share-net"))
        #expect(!argv.contains { $0.hasPrefix("--cap-add") })
    }

    @Test("the environment is built from nothing", arguments: layouts)
    func clearEnvironment(layout: HostLayout) {
        setenv("AIRLOCK_LAUNCHER_TEST_SECRET", "s3cr3t", 1)
        defer { unsetenv("AIRLOCK_LAUNCHER_TEST_SECRET") }
        let argv = Self.options(Self.plan(layout) { $0.environment["EXTRA"] = "1" }.argv)
        let clear = argv.firstIndex(of: "--clearenv")
        #expect(clear != nil)
        let firstSetenv = argv.firstIndex(of: "--setenv")
        if let clear, let firstSetenv { #expect(clear < firstSetenv) }
        #expect(!argv.contains("AIRLOCK_LAUNCHER_TEST_SECRET"))
        #expect(!argv.contains("s3cr3t"))
        #expect(argv.contains("EXTRA"))
    }

    @Test("the seccomp program is passed on its fd", arguments: layouts)
    func seccompPassed(layout: HostLayout) {
        let plan = Self.plan(layout)
        let argv = Self.options(plan.argv)
        guard let index = argv.firstIndex(of: "--seccomp"), index + 1 < argv.count,
              let fd = Int32(argv[index + 1]) else {
            Issue.record("no --seccomp FD in \(argv)")
            return
        }
        #expect(plan.dataFiles[fd] == Self.seccomp)
    }

    @Test("the workspace is the only writable bind (besides sockets)", arguments: layouts)
    func onlyWorkspaceWritable(layout: HostLayout) {
        let sockets = ["/run/airlock/proxy-123.sock": "/run/airlock/proxy.sock"]
        let argv = Self.options(Self.plan(layout) { $0.socketBinds = sockets }.argv)
        let writable = Self.binds(argv).filter { !$0.op.hasPrefix("--ro-") }
        let workspaceBinds = writable.filter { $0.destination == "/workspace" }
        #expect(workspaceBinds.count == 1)
        #expect(workspaceBinds.first?.source == Self.workspace)
        for bind in writable where bind.destination != "/workspace" {
            #expect(sockets[bind.source] == bind.destination, "unexpected writable bind \(bind)")
            #expect(bind.op == "--bind")
        }
        #expect(writable.count == 1 + sockets.count)
        #expect(!argv.contains("--dev-bind"))
        #expect(Self.containsPair(argv, "--chdir", "/workspace"))
    }

    @Test("never binds home directories, /etc as a whole, shadow or the state dir", arguments: layouts)
    func noSecretsBound(layout: HostLayout) {
        let argv = Self.options(Self.plan(layout).argv)
        let forbidden: Set<String> = ["/", "/root", "/home", "/etc", "/etc/shadow", "/etc/gshadow",
                                      "/etc/sudoers", "/etc/ssh", "/var", "/run", "/proc", "/sys", "/tmp",
                                      Self.stateDir]
        for bind in Self.binds(argv) {
            #expect(!forbidden.contains(bind.source), "binds \(bind.source)")
            #expect(!bind.source.hasPrefix("/root/"), "binds \(bind.source)")
            #expect(!bind.source.hasPrefix("/home/"), "binds \(bind.source)")
            #expect(!bind.source.hasPrefix("/etc/ssh"), "binds \(bind.source)")
            #expect(!bind.destination.hasPrefix("/root") && !bind.destination.hasPrefix("/home"))
        }
        #expect(!argv.contains { $0.contains("shadow") })
        #expect(!argv.contains { $0.hasPrefix(Self.stateDir) })
        // passwd and group are generated, never the host's.
        let borrowed = Self.binds(argv).map(\.source)
        #expect(!borrowed.contains("/etc/passwd"))
        #expect(!borrowed.contains("/etc/group"))
    }

    @Test("/tmp is a tmpfs with a size cap", arguments: layouts)
    func tmpfsSized(layout: HostLayout) {
        let argv = Self.options(Self.plan(layout) { $0.tmpSize = 12_345_678 }.argv)
        let tmpfs = argv.indices.filter { argv[$0] == "--tmpfs" && $0 + 1 < argv.count && argv[$0 + 1] == "/tmp" }
        #expect(tmpfs.count == 1)
        guard let at = tmpfs.first else { return }
        // --size applies to the next mount operation: only modifiers may stand in between.
        guard let size = argv[..<at].lastIndex(of: "--size") else {
            Issue.record("--tmpfs /tmp is not preceded by --size: \(argv)")
            return
        }
        #expect(argv[size + 1] == "12345678")
        let between = argv[(size + 2)..<at]
        #expect(between.isEmpty || between.first == "--perms", "\(between)")
        #expect(between.count <= 2)
        #expect(!Self.binds(argv).contains { $0.destination == "/tmp" })
    }

    @Test("the guest runs read-only as the sandbox's command")
    func guestReadOnly() {
        let argv = Self.plan(Self.layouts[0]).argv
        #expect(Array(argv.suffix(2)) == ["--", BubblewrapLauncher.guestPathInside])
        let guest = Self.binds(argv).filter { $0.destination == BubblewrapLauncher.guestPathInside }
        #expect(guest.count == 1)
        #expect(guest.first?.op == "--ro-bind")
        #expect(guest.first?.source == "/run/airlock/bin/airlock-guest-test")
    }

    @Test("system directories are read-only and symlinks stay symlinks")
    func systemReadOnly() {
        let argv = Self.options(Self.plan(Self.layouts[0]).argv)
        #expect(Self.binds(argv).contains { $0.op == "--ro-bind" && $0.source == "/usr" && $0.destination == "/usr" })
        #expect(argv.contains("--symlink"))
        #expect(Self.containsPair(argv, "usr/bin", "/bin"))
        #expect(!Self.binds(argv).contains { $0.source == "/usr" && $0.op == "--bind" })
    }
}

extension HostLayout: CustomTestStringConvertible {
    public var testDescription: String {
        "layout(\(systemEntries.count) system entries, \(etcFiles.count) etc files)"
    }
}
