import AirlockModels
import AirlockTestSupport
import Foundation
import Testing

@testable import AirlockCore

/// The API key lives only in the harness: not in the sandbox's environment, not in any
/// process inside it, not in anything written to the state dir.
@Suite("agent loop secrets", .timeLimit(.minutes(1)))
struct AgentLoopSecretTests {
    @Test("the API key never reaches the sandbox or the state dir")
    func keyStaysInTheHarness() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let key = "sk-test-\(UUID().uuidString)"
        let responses = [
            OpenAIStream.shell("call_1", "env"),
            OpenAIStream.shell("call_2", "cat /proc/*/environ | tr '\\000' '\\n'"),
            OpenAIStream.submit("call_3"),
        ]
        // No redaction: the state dir must lack the key because it never got there, not
        // because a redactor scrubbed it.
        let store = try fixture.store(redactor: .none)
        try await TestHTTPServer.with(responses) { server in
            let run = try await fixture.run(Providers.openAI(server, key: key), store: store)
            #expect(run.result.outcome == .submitted, "\(run.result.reason)")
            let requests = server.requests
            try #require(requests.count == 3)
            #expect(requests.allSatisfy { $0.header("authorization") == "Bearer \(key)" },
                    "the server did get the key")

            let envOutput = requests[1].messages.last?["content"]?.stringValue ?? ""
            let procOutput = requests[2].messages.last?["content"]?.stringValue ?? ""
            #expect(envOutput.contains("exit code: 0") && envOutput.contains("PATH="), "\(envOutput)")
            #expect(procOutput.contains("PATH="), "/proc/*/environ was read: \(procOutput)")
            for (index, request) in requests.enumerated() {
                // Only the header carries it; no body, tool output included, does.
                let leaked = request.text.contains(key)
                #expect(!leaked, "request \(index + 1)'s body holds the key")
            }
            #expect(!envOutput.contains(key) && !procOutput.contains(key))
        }
        try StateDir.expectAbsent(key, in: fixture.stateDir)
    }
}

enum StateDir {
    /// Reads every file under the state dir as bytes (the database, its -wal and -shm).
    static func expectAbsent(_ secret: String, in directory: URL,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let files = FileManager.default.enumerator(atPath: directory.path)?.compactMap { $0 as? String } ?? []
        #expect(files.contains("airlock.sqlite"), "the state dir holds the database", sourceLocation: sourceLocation)
        let needle = Data(secret.utf8)
        for file in files {
            guard let data = FileManager.default.contents(atPath: directory.path + "/" + file) else { continue }
            #expect(data.range(of: needle) == nil, "the key is in \(file)", sourceLocation: sourceLocation)
        }
    }
}
