import AirlockProtocol
import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockOCI

/// Sandboxes of one shape share one root skeleton (OCISharedParts): it must stay exactly as
/// published whatever a sandbox tries, and a sandbox's own bundle must still go with it.
@Suite("tiers: OCI sandboxes share a read-only root skeleton", .timeLimit(.minutes(1)))
struct OCISharedRootTests {
    /// Every entry under `directory`, with its type, mode and owner.
    static func listing(_ directory: String) -> [String] {
        var lines: [String] = []
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            var info = stat()
            guard lstat(directory + "/" + relative, &info) == 0 else { continue }
            lines.append("\(relative) \(String(info.st_mode, radix: 8)) \(info.st_uid) \(info.st_size)")
        }
        return lines.sorted()
    }

    static func rootPath(ofBundleWith id: String, kind: OCIRuntime.Kind) throws -> String {
        let config = OCIRuntime.stateRoot + "/" + kind.rawValue + "/bundles/" + id + "/config.json"
        let data = try #require(FileManager.default.contents(atPath: config), "no config.json at \(config)")
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return try #require((object["root"] as? [String: Any])?["path"] as? String)
    }

    @Test("two sandboxes, one root; writes to it fail and leave it unchanged; each bundle goes with its sandbox",
          arguments: [OCIRuntime.Kind.crun, .runc])
    func sharedRoot(kind: OCIRuntime.Kind) async throws {
        guard let runtime = OCIRuntime.find(kind) else {
            print("SKIP [\(kind.rawValue)]: not installed")
            return
        }
        let workspace = "/tmp/airlock-shared-root-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        let backend = OCIBackend(runtime: runtime)
        let configuration = SandboxConfiguration(workspace: workspace)
        let first = try await backend.start(configuration)
        let second = try await backend.start(configuration)
        let rootfs = try Self.rootPath(ofBundleWith: first.id, kind: kind)
        #expect(rootfs.hasPrefix("/") && rootfs.contains("/shared/rootfs-"), "[\(kind.rawValue)] \(rootfs)")
        #expect(try Self.rootPath(ofBundleWith: second.id, kind: kind) == rootfs, "[\(kind.rawValue)] one shape, one root")
        let before = Self.listing(rootfs)
        #expect(before.contains { $0.hasPrefix("workspace ") }, "[\(kind.rawValue)] the skeleton has its mount points")

        // From inside: new entries in the root, a mount point replaced, a mount point's mode.
        let attack = "for p in /made /workspace/../made2 /etc/made /.airlock/made /run/airlock/made; do "
            + "touch $p 2>/dev/null && echo wrote $p; done; "
            + "rmdir /proc 2>/dev/null && echo removed; chmod 777 / 2>/dev/null && echo chmod; "
            + "ln -s /x /link 2>/dev/null && echo linked; echo done"
        let result = try await first.guest.exec(ExecRequest(argv: ["/bin/sh", "-c", attack], timeoutMs: 20_000))
        let out = String(decoding: result.stdout, as: UTF8.self)
        #expect(out == "done\n", "[\(kind.rawValue)] the shared root took a write: \(out) \(String(decoding: result.stderr, as: UTF8.self))")
        let check = try await second.guest.exec(ExecRequest(argv: ["/bin/sh", "-c", "ls -a / /etc /.airlock | grep -c made"],
                                                            timeoutMs: 20_000))
        #expect(String(decoding: check.stdout, as: UTF8.self) == "0\n", "[\(kind.rawValue)] the other sandbox sees a change")
        #expect(Self.listing(rootfs) == before, "[\(kind.rawValue)] the shared root changed on the host")

        let firstBundle = OCIRuntime.stateRoot + "/" + kind.rawValue + "/bundles/" + first.id
        await first.kill()
        #expect(!FileManager.default.fileExists(atPath: firstBundle), "[\(kind.rawValue)] the ended sandbox's bundle stays")
        let still = try await second.guest.exec(ExecRequest(argv: ["/bin/ls", "/usr/bin/env"], timeoutMs: 20_000))
        #expect(still.status.code == 0, "[\(kind.rawValue)] the other sandbox lost its root")
        await second.kill()
        #expect(access(rootfs, F_OK) == 0, "[\(kind.rawValue)] the shared root is kept for the next sandbox")
    }
}
