import AirlockModels
import Foundation
import Testing
@testable import AirlockCore
@testable import AirlockStoreSQLite

@Suite struct RedactorTests {
    @Test func replacesSecretValuesEverywhereIncludingKeys() {
        let redactor = Redactor(secrets: ["hunter2-secret", "abc"], patterns: [])
        let value = JSONValue.object([
            "hunter2-secret": .array([.string("x hunter2-secret y"), .int(1)]),
            "short": .string("abc stays"),
        ])
        #expect(redactor.redact(value) == .object([
            "[REDACTED]": .array([.string("x [REDACTED] y"), .int(1)]),
            "short": .string("abc stays"),
        ]))
    }

    @Test(arguments: [
        ("key sk-proj-AbCdEfGhIjKlMnOpQrStUv", "key [REDACTED:api_key]"),
        ("aws AKIAIOSFODNN7EXAMPLE here", "aws [REDACTED:aws_access_key] here"),
        ("ghp_0123456789abcdefghijABCDEFGHIJ012345", "[REDACTED:github_token]"),
        ("Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9", "Authorization: [REDACTED:bearer_token]"),
        ("nothing to see", "nothing to see"),
    ])
    func defaultPatterns(input: String, expected: String) {
        #expect(Redactor().redact(input) == expected)
    }

    @Test func secretNeverReachesTheDatabaseFileOrTheExport() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let secret = "s3cr3t-value-9f8e7d6c"
        let store = try Store(stateDirectory: dir.url, redactor: Redactor(secrets: [secret]))
        let run = try await store.createRun(task: "use \(secret)", model: "openai:gpt-4o", workspace: "/w",
                                      config: .object(["api_key": .string(secret)]))
        let ledger = Ledger(store: store, run: run.id)
        try await ledger.append(.modelRequest, .object([
            "headers": .object(["authorization": .string("Bearer \(secret)")]),
            secret: .string("as a key"),
            "nested": .array([.string("prefix\(secret)suffix")]),
        ]))
        try await store.recordToolCall(run: run.id, step: 1,
                                 call: ToolCall(id: "c1", name: "shell", arguments: #"{"command":"echo \#(secret)"}"#))
        try await store.updateToolCall(run: run.id, callID: "c1", status: .completed, result: "out: \(secret)", exitCode: 0, finished: true)
        let export = try await store.exportLedgerJSONL(run: run.id)
        #expect(!export.contains(secret))
        #expect(export.contains("[REDACTED]"))
        #expect(try await store.verifyLedger(run: run.id).ok)

        let needle = Array(secret.utf8)
        for suffix in ["", "-wal", "-shm"] {
            let path = store.databaseURL.path + suffix
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            #expect(!contains(Array(data), needle), "secret found in \(path)")
        }
        // The check above means something only if the WAL really holds the writes.
        let wal = FileManager.default.contents(atPath: store.databaseURL.path + "-wal") ?? Data()
        #expect(contains(Array(wal), Array("[REDACTED]".utf8)))
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return true }
        }
        return false
    }
}
