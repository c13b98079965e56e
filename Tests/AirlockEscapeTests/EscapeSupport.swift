import AirlockTestSupport
import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockBubblewrap
@testable import AirlockSandboxHost

/// Real sandboxes for the attacks: a fresh workspace under /tmp (reachable by the sandbox
/// uid), removed afterwards. The escape suite owns its own copy of these helpers so the
/// sandbox tests and the attacks can evolve apart.
struct SandboxFixture {
    let workspace: String

    init() throws {
        workspace = "/tmp/airlock-escape-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
    }

    func configuration(_ edit: (inout SandboxConfiguration) -> Void = { _ in }) -> SandboxConfiguration {
        var configuration = SandboxConfiguration(workspace: workspace)
        edit(&configuration)
        return configuration
    }

    func start(backend: BubblewrapBackend = BubblewrapBackend(),
               _ edit: (inout SandboxConfiguration) -> Void = { _ in }) async throws -> any Sandbox {
        try await backend.start(configuration(edit))
    }

    /// The harness is alive after an attack: the same sandbox (if it should be) and a brand
    /// new one both still run a command.
    func expectHarnessAlive(_ sandbox: (any Sandbox)? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        if let sandbox {
            #expect(sandbox.isAlive, "the attacked sandbox died", sourceLocation: sourceLocation)
            let (status, out, _) = try await sandbox.guest.sh("echo same-alive")
            #expect(status.code == 0 && out == "same-alive\n", sourceLocation: sourceLocation)
        }
        let fresh = try await start()
        let (status, out, _) = try await fresh.guest.sh("echo fresh-alive")
        await fresh.kill()
        #expect(status.code == 0 && out == "fresh-alive\n", sourceLocation: sourceLocation)
    }

    func write(_ name: String, _ text: String, mode: Int = 0o644) throws {
        let path = workspace + "/" + name
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode_t(mode))
        // The sandbox uid (not root) must be able to read what the test put there.
        if isRoot { chown(path, sandboxOwner.uid, sandboxOwner.gid) }
    }

    /// The owner of the workspace once a sandbox has started (a root harness hands it over).
    var sandboxOwner: (uid: uid_t, gid: gid_t) {
        var info = stat()
        _ = stat(workspace, &info)
        return (info.st_uid, info.st_gid)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: workspace)
    }
}

extension GuestConnection {
    /// Runs a shell string and returns (status, stdout, stderr) as text.
    func sh(_ script: String, timeoutMs: Int? = 60_000) async throws -> (AirlockProtocol.ExitStatus, String, String) {
        let result = try await exec(ExecRequest(shell: script, timeoutMs: timeoutMs))
        return (result.status, String(decoding: result.stdout, as: UTF8.self),
                String(decoding: result.stderr, as: UTF8.self))
    }

    /// Writes `script` into the workspace through the file tools and runs it with python3.
    func python(_ script: String, timeoutMs: Int = 60_000) async throws -> (AirlockProtocol.ExitStatus, String, String) {
        let name = ".probe-\(UInt32.random(in: 0...UInt32.max)).py"
        let written = try await call(.writeFile(WriteFileRequest(path: name, content: Data(script.utf8))))
        #expect(written == .ok)
        return try await sh("python3 /workspace/\(name)", timeoutMs: timeoutMs)
    }
}

/// A python snippet that calls one raw syscall and prints `ret errno`.
enum Syscall {
    static func probe(_ body: String) -> String {
        """
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        ret = \(body)
        print(ret, ctypes.get_errno())
        """
    }

    /// Parses `ret errno` from the probe's output.
    static func result(_ out: String) -> (ret: Int, errno: Int)? {
        let parts = out.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard parts.count >= 2 else { return nil }
        return (parts[parts.count - 2], parts[parts.count - 1])
    }
}

/// `VmHWM` and `VmRSS` of this test process, in KiB.
enum ProcessMemory {
    static func read() -> (hwm: Int, rss: Int) {
        let text = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "") ?? 0
        }
        return (field("VmHWM"), field("VmRSS"))
    }
}


let hasPython = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
let isRoot = getuid() == 0
let hasSetpriv = FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
