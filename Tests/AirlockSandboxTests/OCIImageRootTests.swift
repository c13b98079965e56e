import AirlockProtocol
import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockOCI

/// The oci and gvisor tiers on an image root instead of the host's /usr: a tiny root file
/// system laid out by the test with a static busybox (what the image store hands over as
/// `SandboxRoot.image`).
@Suite("tiers: an OCI sandbox on an image root", .timeLimit(.minutes(1)),
       .enabled(if: StaticBusybox.path != nil, "needs a static busybox (apt-get install busybox-static)"))
struct OCIImageRootTests {
    static func layOut() throws -> String {
        let root = "/tmp/airlock-image-" + UUID().uuidString.prefix(8)
        let manager = FileManager.default
        for directory in ["bin", "etc", "tmp"] {
            try manager.createDirectory(atPath: root + "/rootfs/" + directory, withIntermediateDirectories: true)
        }
        try manager.copyItem(atPath: try #require(StaticBusybox.path), toPath: root + "/rootfs/bin/busybox")
        for tool in ["sh", "cat", "ls", "echo", "id", "true"] {
            try manager.createSymbolicLink(atPath: root + "/rootfs/bin/" + tool, withDestinationPath: "busybox")
        }
        try Data("agent:x:1000:1000::/workspace:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: root + "/rootfs/etc/passwd"))
        try Data("image-os\n".utf8).write(to: URL(fileURLWithPath: root + "/rootfs/etc/os-name"))
        try manager.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
        for path in [root, root + "/rootfs", root + "/ws"] { chmod(path, 0o755) }
        return root
    }

    @Test("the image's own tools run, its files are seen, the host's /usr is not there",
          arguments: [OCIRuntime.Kind.crun, .runc, .runsc])
    func imageRoot(kind: OCIRuntime.Kind) async throws {
        guard let runtime = OCIRuntime.find(kind) else {
            print("SKIP [\(kind.rawValue)]: not installed")
            return
        }
        let root = try Self.layOut()
        defer { try? FileManager.default.removeItem(atPath: root) }
        var configuration = SandboxConfiguration(workspace: root + "/ws")
        configuration.root = .image(ImageRoot(rootfs: root + "/rootfs", digest: "sha256:test"))
        let sandbox = try await OCIBackend(runtime: runtime).start(configuration)
        let result = try await sandbox.guest.exec(ExecRequest(
            argv: ["/bin/sh", "-c", "cat /etc/os-name; id -u; echo made > /workspace/out.txt; ls /usr 2>&1 || echo no-usr; echo x > /bin/new 2>&1 || echo ro"],
            timeoutMs: 20_000))
        await sandbox.kill()
        let out = String(decoding: result.stdout, as: UTF8.self)
        #expect(out.hasPrefix("image-os\n1000\n"), "[\(kind.rawValue)] \(out) \(String(decoding: result.stderr, as: UTF8.self))")
        #expect(out.contains("no-usr"), "[\(kind.rawValue)] the host's /usr is not in an image sandbox: \(out)")
        #expect(out.hasSuffix("ro\n"), "[\(kind.rawValue)] the image is read-only: \(out)")
        #expect(FileManager.default.contents(atPath: root + "/ws/out.txt") == Data("made\n".utf8))
        #expect(!FileManager.default.fileExists(atPath: root + "/rootfs/bin/new"))
    }
}

enum StaticBusybox {
    static let path: String? = ["/bin/busybox", "/usr/bin/busybox"].first { path in
        guard let data = FileManager.default.contents(atPath: path), data.count > 64,
              data.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]) else { return false }
        // A static executable has no PT_INTERP (type 3) program header.
        let bytes = [UInt8](data)
        func word(_ at: Int, _ size: Int) -> Int {
            (0..<size).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) }
        }
        let offset = word(0x20, 8), entrySize = word(0x36, 2), count = word(0x38, 2)
        return !(0..<count).contains { word(offset + $0 * entrySize, 4) == 3 }
    }
}
