import AirlockTestSupport
import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Testing
@testable import AirlockBubblewrap
@testable import AirlockSandboxHost

/// Real sandboxes for tests: a fresh workspace under /tmp (reachable by the sandbox uid),
/// removed afterwards.
struct SandboxFixture {
    let workspace: String

    init() throws {
        workspace = NSTemporaryDirectory() + "airlock-test-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
    }

    func configuration(_ edit: (inout SandboxConfiguration) -> Void = { _ in }) -> SandboxConfiguration {
        var configuration = SandboxConfiguration(workspace: workspace)
        edit(&configuration)
        return configuration
    }

    func start(_ edit: (inout SandboxConfiguration) -> Void = { _ in }) async throws -> any Sandbox {
        try await BubblewrapBackend().start(configuration(edit))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: workspace)
    }
}

extension GuestConnection {
    /// Runs a shell string and returns (status, stdout, stderr) as text.
    func sh(_ script: String, timeoutMs: Int? = nil) async throws -> (AirlockProtocol.ExitStatus, String, String) {
        let result = try await exec(ExecRequest(shell: script, timeoutMs: timeoutMs))
        return (result.status, String(decoding: result.stdout, as: UTF8.self),
                String(decoding: result.stderr, as: UTF8.self))
    }
}

let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
let isRoot = getuid() == 0
