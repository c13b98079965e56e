import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockSandboxHost

/// Several sandboxes started at once by one harness.
@Suite("Concurrent starts")
struct ConcurrentStartTests {
    /// Regression: a root harness stages the guest where the sandbox uid can read it. Two
    /// starts racing on a guest not yet staged shared one temporary file name, so one
    /// deleted the other's copy (or renamed a half-written one into place).
    @Test("sandboxes started together with a guest not yet staged all start",
          .enabled(if: guestBinary != nil && isRoot, "needs the guest binary and root (staging happens only then)"))
    func concurrentStaging() async throws {
        guard let guestBinary else { return }
        // A fresh copy has a fresh mtime, so it has not been staged before.
        let directory = try TemporaryDirectory("airlock-guest-copy")
        defer { directory.remove() }
        let copy = directory.path + "/airlock-guest"
        try FileManager.default.copyItem(atPath: guestBinary, toPath: copy)
        chmod(directory.path, 0o755)
        chmod(copy, 0o755)
        var info = stat()
        #expect(stat(copy, &info) == 0)
        let staged = "/run/airlock/bin/airlock-guest-\(info.st_size)-\(info.st_mtim.tv_sec)-\(info.st_mtim.tv_nsec)"
        defer { unlink(staged) }

        let fixtures = try (0..<4).map { _ in try SandboxFixture() }
        defer { fixtures.forEach { $0.remove() } }
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for fixture in fixtures {
                group.addTask {
                    let sandbox = try await fixture.start { $0.guestPath = copy }
                    let (_, out, _) = try await sandbox.guest.sh("echo up")
                    await sandbox.kill()
                    return out
                }
            }
            var outputs: [String] = []
            for try await output in group { outputs.append(output) }
            return outputs
        }
        #expect(outputs == Array(repeating: "up\n", count: 4))
        // The staged copy is whole, and no temporary file was left behind.
        var stagedInfo = stat()
        #expect(stat(staged, &stagedInfo) == 0)
        #expect(stagedInfo.st_size == info.st_size)
        let leftovers = ((try? FileManager.default.contentsOfDirectory(atPath: "/run/airlock/bin")) ?? [])
            .filter { $0.hasPrefix((staged as NSString).lastPathComponent + ".tmp-") }
        #expect(leftovers.isEmpty)
    }
}
