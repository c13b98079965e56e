import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// A real Arize Phoenix (PyPI `arize-phoenix`, in the venv scripts/setup.sh makes), started
/// on free loopback ports with its working directory in a temporary folder.
final class PhoenixServer: @unchecked Sendable {
    static let venv = "/var/cache/airlock-test/phoenix"
    static var installed: Bool { FileManager.default.fileExists(atPath: venv + "/.complete") }

    let process = Process()
    let directory: String
    let port: Int
    var base: String { "http://127.0.0.1:\(port)" }

    init() throws {
        directory = NSTemporaryDirectory() + "airlock-phoenix-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freePort()
        let grpc = try Self.freePort()
        process.executableURL = URL(fileURLWithPath: Self.venv + "/bin/phoenix")
        process.arguments = ["serve"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var environment = ProcessInfo.processInfo.environment
        environment.merge(["PHOENIX_WORKING_DIR": directory, "PHOENIX_HOST": "127.0.0.1", "PHOENIX_PORT": "\(port)",
                           "PHOENIX_GRPC_PORT": "\(grpc)", "PHOENIX_TELEMETRY_ENABLED": "false"]) { $1 }
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/log").creating())
        process.standardError = process.standardOutput
        try process.run()
    }

    /// Waits until Phoenix answers /healthz (it migrates its database first: tens of seconds
    /// on a loaded machine).
    func ready(limit: Duration = .seconds(150)) async -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end, process.isRunning {
            if (try? await Web.get(base + "/healthz"))?.status == 200 { return true }
            try? await Task.sleep(for: .milliseconds(500))
        }
        return false
    }

    var log: String {
        String(decoding: FileManager.default.contents(atPath: directory + "/log") ?? Data(), as: UTF8.self)
            .split(separator: "\n").filter { !$0.contains("sqlalchemy") }.suffix(20).joined(separator: "\n")
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            let end = Date().addingTimeInterval(10)
            while process.isRunning, Date() < end { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func graphQL(_ query: String) async throws -> [String: Any] {
        let reply = try await Web.post(base + "/graphql", json: ["query": query])
        return reply.json["data"] as? [String: Any] ?? [:]
    }

    /// Every span Phoenix stored in its default project (REST API, paged).
    func spans() async throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var cursor: String?
        repeat {
            let url = base + "/v1/projects/default/spans?limit=100" + (cursor.map { "&cursor=\($0)" } ?? "")
            let reply = try await Web.get(url).json
            all += reply["data"] as? [[String: Any]] ?? []
            cursor = reply["next_cursor"] as? String
        } while cursor != nil
        return all
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

private extension URL {
    func creating() -> URL {
        FileManager.default.createFile(atPath: path, contents: nil)
        return self
    }
}

@Suite("Arize Phoenix receives a run's trace over OTLP/HTTP protobuf",
       .enabled(if: AirlockBinary.path != nil, "needs the built airlock executable beside the tests"),
       .enabled(if: PhoenixServer.installed,
                "needs Arize Phoenix in /var/cache/airlock-test/phoenix (scripts/setup.sh installs it; AIRLOCK_SETUP_PHOENIX=0 skips)"),
       .timeLimit(.minutes(5)))
struct PhoenixTests {
    @Test("one trace, parent links intact, Phoenix's token count equals the run's usage")
    func phoenixCountsTheRun() async throws {
        let phoenix = try PhoenixServer()
        defer { phoenix.stop() }
        let usage = [(310, 41), (275, 33), (120, 9)]
        let scene = try RunScene(turns: [
            ["tool_calls": [["name": "shell", "arguments": ["command": "echo traced > t.txt"]]],
             "usage": ["input_tokens": usage[0].0, "output_tokens": usage[0].1]],
            ["tool_calls": [["name": "read_file", "arguments": ["path": "t.txt"]]],
             "usage": ["input_tokens": usage[1].0, "output_tokens": usage[1].1]],
            ["tool_calls": [["name": "submit", "arguments": ["answer": "seen by phoenix"]]],
             "usage": ["input_tokens": usage[2].0, "output_tokens": usage[2].1]],
        ])
        defer { scene.remove() }
        let ready = await phoenix.ready()
        try #require(ready, "Phoenix did not come up: \(phoenix.log)")

        let run = try AirlockProcess(["run", "trace into phoenix", "--model", scene.model, "--workspace", scene.workspace,
                                      "--state-dir", scene.stateDir, "--json"],
                                     environment: ["OTEL_EXPORTER_OTLP_ENDPOINT": phoenix.base])
        defer { run.cleanUp() }
        #expect(await run.wait(limit: .seconds(60)) == 0, "\(run.stderr)")
        #expect(!run.stderr.contains("warning"), "\(run.stderr)")

        // Phoenix inserts in batches: wait (bounded) until the root, which ends last, is in.
        var spans: [[String: Any]] = []
        let end = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < end {
            spans = try await phoenix.spans()
            if spans.contains(where: { $0["parent_id"] is NSNull || $0["parent_id"] == nil }) { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        let names = spans.compactMap { $0["name"] as? String }
        #expect(names.filter { $0.hasPrefix("chat ") }.count == 3, "\(names)")
        #expect(names.contains("execute_tool shell") && names.contains("execute_tool read_file"), "\(names)")
        let contexts = spans.compactMap { $0["context"] as? [String: Any] }
        #expect(Set(contexts.compactMap { $0["trace_id"] as? String }).count == 1, "one trace")
        let ids = Set(contexts.compactMap { $0["span_id"] as? String })
        let roots = spans.filter { !($0["parent_id"] is String) }
        #expect(roots.count == 1 && roots.first?["name"] as? String == "invoke_agent airlock")
        for span in spans {
            if let parent = span["parent_id"] as? String { #expect(ids.contains(parent), "dangling parent in \(span["name"] ?? "")") }
        }
        #expect(spans.filter { $0["span_kind"] as? String == "LLM" }.count == 3)

        let project = try await phoenix.graphQL("{ projects { edges { node { name traceCount tokenCountPrompt tokenCountCompletion tokenCountTotal } } } }")
        let node = (((project["projects"] as? [String: Any])?["edges"] as? [[String: Any]])?.first?["node"]) as? [String: Any] ?? [:]
        let prompt = usage.map(\.0).reduce(0, +), completion = usage.map(\.1).reduce(0, +)
        #expect((node["traceCount"] as? NSNumber)?.intValue == 1)
        #expect((node["tokenCountPrompt"] as? NSNumber)?.intValue == prompt, "\(node)")
        #expect((node["tokenCountCompletion"] as? NSNumber)?.intValue == completion, "\(node)")
        #expect((node["tokenCountTotal"] as? NSNumber)?.intValue == prompt + completion, "\(node)")
    }
}
