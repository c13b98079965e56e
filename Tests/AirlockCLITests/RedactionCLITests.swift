import Foundation
import Testing

/// `--redact` and `--secret-env`: values the user names never reach the state dir or an
/// export, wherever they appear (task, tool output, model text).
@Suite("airlock run redaction", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"))
struct RedactionCLITests {
    @Test("a configured pattern and a named secret are redacted from the database and the export")
    func userPatternsAndSecrets() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        let secret = "tok-" + UUID().uuidString
        let ticket = "ACME-\(Int.random(in: 1000...9999))"
        let model = try scene.script([RunScene.shell("echo \(secret) \(ticket)"), RunScene.submit("saw \(ticket)")])
        let outcome = try await scene.run(["--model", model, "--redact", "ACME-[0-9]+", "--secret-env", "AIRLOCK_TEST_TOKEN"],
                                          task: "print \(secret) and \(ticket)",
                                          environment: ["AIRLOCK_TEST_TOKEN": secret])
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let export = scene.root + "/run.jsonl"
        #expect(try await scene.command(["export", "latest", "-o", export]).status == 0)
        var files = try FileManager.default.contentsOfDirectory(atPath: scene.stateDir).map { scene.stateDir + "/" + $0 }
        files.append(export)
        for file in files {
            guard let bytes = FileManager.default.contents(atPath: file) else { continue }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(!text.contains(secret), "\(file) holds the secret")
            #expect(!text.contains(ticket), "\(file) holds a value of the pattern")
        }
        let exported = try String(contentsOfFile: export, encoding: .utf8)
        #expect(exported.contains("[REDACTED"))
        // A bad pattern is a usage error.
        let bad = try await scene.run(["--model", model, "--redact", "([unclosed"])
        #expect(bad.status == 2)
    }
}
