import AirlockTestSupport
import AirlockCore
@testable import AirlockStoreSQLite
import AirlockModels
@testable import AirlockServe
import AsyncHTTPClient
import Foundation
import Glibc
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing

/// A state dir with one paused run: a model turn and a tool output carrying hostile HTML,
/// then a `touch` the policy asked about, waiting for an answer.
struct ServeScene {
    let root: String
    let store: Store
    let run: String
    static let askedCall = "call_2"
    static let hostile = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">"

    init() async throws {
        root = NSTemporaryDirectory() + "airlock-serve-" + UUID().uuidString.prefix(8)
        store = try Store(stateDirectory: URL(fileURLWithPath: root + "/state"))
        let record = try await store.createRun(task: "tidy up " + Self.hostile, model: "script:test.json", workspace: root + "/ws",
                                         config: ["budgets": ["max_steps": 10, "max_tokens": 5000]])
        run = record.id
        let ledger = Ledger(store: store, run: run)
        try await ledger.append(.runStarted, ["task": "tidy up", "model": "script:test.json", "budgets": ["max_steps": 10]])
        try await ledger.append(.modelResponse, ["step": 1, "text": .string("I will look. " + Self.hostile),
                                                 "tool_calls": [["id": "call_1", "name": "shell", "arguments": "{\"command\":\"cat notes.html\"}"]],
                                                 "usage": ["input_tokens": 120, "output_tokens": 30]])
        try await ledger.append(.toolCallValidated, ["call": "call_1", "name": "shell", "arguments": ["command": "cat notes.html"]])
        try await ledger.append(.policyDecision, ["call": "call_1", "decision": "allow", "rule": nil, "reason": "no rule matched"])
        try await ledger.append(.toolResult, ["call": "call_1", "status": "completed", "exit_code": 0, "is_error": false,
                                              "stdout": .string(Self.hostile), "stderr": "", "content": .string(Self.hostile)])
        try await ledger.append(.modelResponse, ["step": 2, "tool_calls": [["id": "call_2", "name": "shell", "arguments": "{\"command\":\"touch done.txt\"}"]]])
        try await ledger.append(.toolCallValidated, ["call": "call_2", "name": "shell", "arguments": ["command": "touch done.txt"]])
        try await ledger.append(.policyDecision, ["call": "call_2", "decision": "ask", "rule": "ask-touch", "reason": "touching needs a nod"])
        try await ledger.append(.approvalRequested, ["call": "call_2", "approver": "web", "rule": "ask-touch", "reason": "touching needs a nod"])
        try await store.updateRun(run) {
            $0.status = .paused
            $0.steps = 2
            $0.inputTokens = 120
            $0.outputTokens = 30
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    static var user: String { ProcessInfo.processInfo.environment["USER"] ?? NSUserName() }

    func app(token: String? = nil, csrf: String = "test-csrf-token") -> ServeApp {
        ServeApp(configuration: ServeConfiguration(host: "127.0.0.1", port: 0, token: token, user: Self.user, csrfToken: csrf),
                 store: store)
    }
}

/// An `airlock serve` app listening on a free loopback port in this process.
final class LiveServer: Sendable {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.group = group
        self.task = task
    }

    static func start(_ app: ServeApp) async throws -> LiveServer {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = app.application { continuation.yield($0) }
        let group = ServiceGroup(services: [application], logger: application.logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw POSIXError(.EADDRNOTAVAIL) }
        return LiveServer(port: port, group: group, task: task)
    }

    var base: String { "http://127.0.0.1:\(port)" }

    /// A graceful shutdown, as SIGTERM gives `airlock serve`.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// A plain HTTP client that does not follow redirects, so tests see the 303 and its cookie.
enum Web {
    static let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                   configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        func header(_ name: String) -> String? { headers.first(name: name) }

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }
    }

    static func get(_ url: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send("GET", url, headers: headers, body: nil)
    }

    static func post(_ url: String, json: [String: Any], headers: [(String, String)] = []) async throws -> Reply {
        let data = try JSONSerialization.data(withJSONObject: json)
        return try await send("POST", url, headers: [("Content-Type", "application/json")] + headers,
                              body: String(decoding: data, as: UTF8.self))
    }

    static func send(_ method: String, _ url: String, headers: [(String, String)], body: String?) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }
}

/// The built `airlock` binary beside the tests.
enum AirlockBinary {
    static let path = AirlockProcess.binaryPath

    /// The repository, for scripts/web-check.py and docs/.
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
}

extension AirlockProcess {
    /// Waits for the end; kills it (and records an issue) after `limit`.
    @discardableResult
    func wait(limit: Duration = .seconds(30)) async -> Int32 {
        if !(await waitForExit(limit: limit)) {
            Issue.record("airlock \(process.arguments ?? []) did not end within \(limit); killed it")
        }
        return status
    }

    /// The port `airlock serve --port 0` printed.
    func servedPort() async -> Int? {
        guard await waitForOutput({ $0.contains("airlock serve: http://") }) else { return nil }
        guard let range = stdout.range(of: "http://127.0.0.1:") else { return nil }
        return Int(stdout[range.upperBound...].prefix { $0.isNumber })
    }

    /// Runs a command to its end.
    static func run(_ arguments: [String], limit: Duration = .seconds(60)) async throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try AirlockProcess(arguments)
        defer { process.cleanUp() }
        let status = await process.wait(limit: limit)
        return (status, process.stdout, process.stderr)
    }
}

/// A workspace, a state dir, a policy that asks about `touch`, and a scripted model.
struct RunScene {
    let root: String
    var workspace: String { root + "/ws" }
    var stateDir: String { root + "/state" }
    var policy: String { root + "/policy.yaml" }

    init(turns: [[String: Any]]) throws {
        root = NSTemporaryDirectory() + "airlock-serve-run-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: root + "/ws", withIntermediateDirectories: true)
        try "rules:\n  - program: touch\n    decision: ask\n    reason: touching needs a nod\n"
            .write(toFile: policy, atomically: true, encoding: .utf8)
        let data = try JSONSerialization.data(withJSONObject: ["turns": turns], options: [.sortedKeys])
        try data.write(to: URL(fileURLWithPath: root + "/script.json"))
    }

    var model: String { "script:" + root + "/script.json" }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    func runArguments(_ task: String) -> [String] {
        ["run", task, "--model", model, "--workspace", workspace, "--state-dir", stateDir,
         "--policy", policy, "--approver", "web", "--json"]
    }

    static func shell(_ command: String) -> [String: Any] {
        ["tool_calls": [["name": "shell", "arguments": ["command": command]]]]
    }

    static func submit(_ answer: String = "done") -> [String: Any] {
        ["tool_calls": [["name": "submit", "arguments": ["answer": answer]]]]
    }

    /// The page's CSRF token, read the way the page's script reads it.
    static func csrf(fromPage html: String) -> String? {
        guard let range = html.range(of: "<meta name=\"airlock-csrf\" content=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }
}

let hasChromium = FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
    || FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium-browser")
