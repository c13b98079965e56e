import AirlockProtocol
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Glibc
import Synchronization
import Testing
@testable import AirlockLandlock
@testable import AirlockOCI
@testable import AirlockSandboxHost

/// What the Landlock and OCI tiers are told, read as values before anything starts, and
/// a bundle the runtime rejects.
@Suite("tiers: launch plans and bundles", .timeLimit(.minutes(1)))
struct TierLaunchTests {
    static let layout = HostLayout(systemEntries: [.directory("/usr"), .symlink("/bin", target: "usr/bin")],
                                   etcFiles: ["/etc/ssl"])

    @Test("landlock: writes only under the workspace and a private temp dir; no harness variable leaks")
    func landlockPlan() {
        setenv("AIRLOCK_TEST_LEAK", "leaked", 1)
        var configuration = SandboxConfiguration(workspace: "/srv/project")
        configuration.environment["EXTRA"] = "1"
        let plan = LandlockLauncher(layout: Self.layout).plan(for: configuration, guestOnHost: "/run/airlock/bin/g",
                                                              privateTemp: "/tmp/airlock-landlock-x")
        #expect(plan.writePaths == ["/srv/project", "/tmp/airlock-landlock-x", "/dev/null"])
        #expect(!plan.readPaths.contains("/") && !plan.readPaths.contains("/root") && !plan.readPaths.contains("/home"))
        #expect(!plan.readPaths.contains("/etc"), "only the /etc allow-list is readable")
        #expect(plan.readPaths.contains("/usr") && plan.readPaths.contains("/run/airlock/bin/g"))
        #expect(plan.environment["TMPDIR"] == "/tmp/airlock-landlock-x" && plan.environment["HOME"] == "/srv/project")
        #expect(plan.environment["EXTRA"] == "1" && plan.environment["AIRLOCK_TEST_LEAK"] == nil)
        #expect(plan.argv == ["/run/airlock/bin/g", "--workspace", "/srv/project", "--own-session"])
        #expect(plan.workingDirectory == "/srv/project")
        #expect(plan.rlimits.map(\.name).sorted() == ["cpu seconds", "file size", "open files", "processes"])
    }

    @Test("landlock: a memory budget also caps the address space; no HTTP proxy variables point at TCP")
    func landlockLimitsAndEgress() {
        var configuration = SandboxConfiguration(workspace: "/srv/p")
        configuration.limits = ResourceLimits(memoryBytes: 256 << 20, pids: 64)
        configuration.network = .proxy
        configuration.egress = EgressAttachment(socketOnHost: "/run/airlock/egress-1/proxy.sock", certificateAuthorityPEM: "CA")
        let plan = LandlockLauncher(layout: Self.layout).plan(for: configuration, guestOnHost: "/g", privateTemp: "/tmp/t")
        #expect(plan.rlimits.first { $0.name == "address space" }?.value == UInt64(256 << 20) * 2 + (1 << 30))
        #expect(plan.rlimits.first { $0.name == "processes" }?.value == 64)
        #expect(plan.environment["AIRLOCK_EGRESS_SOCKET"] == "/run/airlock/egress-1/proxy.sock")
        #expect(plan.environment["HTTP_PROXY"] == nil, "no TCP socket can be made, so no TCP proxy is advertised")
        #expect(plan.environment["SSL_CERT_FILE"] == "/tmp/t/ca-bundle.pem")
    }

    @Test("oci: every namespace, uid mapped to the sandbox uid, read-only root, masked /proc, no privileges, our seccomp")
    func ociBundle() throws {
        var configuration = SandboxConfiguration(workspace: "/srv/project")
        configuration.limits = ResourceLimits(memoryBytes: 128 << 20, pids: 32)
        let bundle = OCIBundle(runtime: .runc, layout: Self.layout,
                               mapping: OCIBundle.Mapping(uid: 65532, gid: 65532, rootUID: 65534),
                               generatedDirectory: "/b/generated", cgroupsPath: "/airlock-oci/x")
        let (config, skeleton) = bundle.generate(configuration, guestOnHost: "/g")
        let linux = try #require(config["linux"] as? [String: Any])
        let namespaces = Set((linux["namespaces"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String })
        #expect(namespaces == ["pid", "network", "ipc", "uts", "mount", "user", "cgroup"])
        let uids = linux["uidMappings"] as? [[String: Any]] ?? []
        #expect(uids.contains { $0["containerID"] as? UInt32 == 1000 && $0["hostID"] as? UInt32 == 65532 && $0["size"] as? Int == 1 })
        #expect(!uids.contains { $0["hostID"] as? UInt32 == 0 }, "host root is never mapped in")
        #expect((config["root"] as? [String: Any])?["readonly"] as? Bool == true)
        #expect((linux["maskedPaths"] as? [String])?.contains("/proc/kcore") == true)
        #expect((linux["readonlyPaths"] as? [String])?.contains("/proc/sys") == true)
        let process = try #require(config["process"] as? [String: Any])
        #expect(process["noNewPrivileges"] as? Bool == true && process["terminal"] as? Bool == false)
        let capabilities = (process["capabilities"] as? [String: [String]]) ?? [:]
        let empty = capabilities.values.allSatisfy { $0.isEmpty }
        #expect(capabilities.count == 5 && empty, "every capability set is empty: \(capabilities)")
        let seccomp = try #require(linux["seccomp"] as? [String: Any])
        let denied = (seccomp["syscalls"] as? [[String: Any]] ?? []).flatMap { $0["names"] as? [String] ?? [] }
        for call in ["ptrace", "mount", "unshare", "setns", "bpf", "keyctl", "io_uring_setup", "clone3"] {
            #expect(denied.contains(call), "\(call) is refused")
        }
        let resources = try #require(linux["resources"] as? [String: Any])
        #expect((resources["pids"] as? [String: Any])?["limit"] as? Int == 32)
        let mounts = config["mounts"] as? [[String: Any]] ?? []
        let workspace = mounts.first { $0["destination"] as? String == "/workspace" }
        #expect((workspace?["options"] as? [String])?.contains("rw") == true)
        let usr = mounts.first { $0["destination"] as? String == "/usr" }
        #expect((usr?["options"] as? [String])?.contains("ro") == true)
        #expect(!mounts.contains { $0["source"] as? String == "/root" || $0["source"] as? String == "/home" })
        #expect(skeleton.contains(.symlink("/bin", target: "usr/bin")))
    }

    @Test("oci: an image root binds the image's own entries, read-only, and generates no passwd")
    func ociImageRoot() {
        var configuration = SandboxConfiguration(workspace: "/srv/p")
        configuration.root = .image(ImageRoot(rootfs: "/var/lib/img/rootfs", digest: "sha256:x"))
        let bundle = OCIBundle(runtime: .crun, layout: Self.layout, mapping: OCIBundle.Mapping(uid: 1, gid: 1, rootUID: nil),
                               generatedDirectory: "/b/g")
        let (config, _) = bundle.generate(configuration, guestOnHost: "/g",
                                          imageEntries: [.directory("/bin"), .directory("/etc")], imageFiles: [])
        let mounts = config["mounts"] as? [[String: Any]] ?? []
        #expect(mounts.contains { $0["source"] as? String == "/var/lib/img/rootfs/bin" && $0["destination"] as? String == "/bin" })
        #expect(!mounts.contains { $0["destination"] as? String == "/etc/passwd" })
        #expect(!mounts.contains { $0["source"] as? String == "/usr" }, "nothing of the host's /usr")
    }

    @Test("oci: a corrupt bundle is a clear start error; nothing is left running",
          .enabled(if: OCIRuntime.find(.crun) != nil, "needs crun"))
    func corruptBundle() async throws {
        let runtime = try #require(OCIRuntime.find(.crun))
        var backend = OCIBackend(runtime: runtime)
        let bundle = Mutex<String?>(nil)
        backend.editConfig = { path, data in
            bundle.withLock { $0 = path }
            data = Data("{\"ociVersion\": \"1.0.2\", \"process\": 7".utf8)
        }
        let workspace = "/tmp/airlock-corrupt-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        do {
            let sandbox = try await backend.start(SandboxConfiguration(workspace: workspace))
            await sandbox.kill()
            Issue.record("a corrupt bundle started")
        } catch {
            #expect(error.kind == .startFailed, "\(error)")
            #expect(error.message.contains("did not start"), "\(error)")
            #expect(error.fix != nil)
        }
        let path = try #require(bundle.withLock { $0 }, "the bundle was written")
        #expect(HostProcesses.matching(path).isEmpty, "a runtime process of the corrupt bundle is left")
        #expect(!FileManager.default.fileExists(atPath: path), "the bundle was removed")
    }
}
