import AirlockModels
import Foundation
import Testing
@testable import AirlockCore
@testable import AirlockStoreSQLite

@Suite struct LedgerExportTests {
    @Test func exportVerifiesOnItsOwn() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await LedgerTests.makeLedger(dir, count: 4)
        let file = dir.url.appendingPathComponent("ledger.jsonl")
        try await store.exportLedger(run: run, to: file)
        let report = try LedgerVerifier.verify(jsonlFile: file)
        #expect(report.ok)
        #expect(report.count == 4)
        let firstLine = try #require(try String(contentsOf: file, encoding: .utf8).split(separator: "\n").first)
        #expect(firstLine.hasPrefix(#"{"run":""# + run + #"","seq":1,"time":""#))
        #expect(firstLine.contains(#""kind":"note","payload":{"i":1,"text":"entry 1"},"prev_hash":"0000"#))
    }

    @Test func reformattedPayloadStillVerifies() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await LedgerTests.makeLedger(dir, count: 2)
        let text = try await store.exportLedgerJSONL(run: run)
            .replacingOccurrences(of: #"{"i":1,"text":"entry 1"}"#, with: #"{ "text" : "entry 1", "i" : 1 }"#)
        #expect(LedgerVerifier.verify(jsonl: text).ok)
    }

    @Test func editedLineFails() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await LedgerTests.makeLedger(dir, count: 4)
        let text = try await store.exportLedgerJSONL(run: run)
        let edited = text.replacingOccurrences(of: "entry 3", with: "entry three")
        let report = LedgerVerifier.verify(jsonl: edited)
        #expect(!report.ok)
        #expect(report.firstBadSeq == 3)
        #expect(report.reason?.contains("hash mismatch") == true)
    }

    @Test func removedAndReorderedLinesFail() async throws {
        let dir = try TempDir()
        defer { dir.cleanUp() }
        let (store, _, run) = try await LedgerTests.makeLedger(dir, count: 4)
        var lines = try await store.exportLedgerJSONL(run: run).split(separator: "\n").map(String.init)
        lines.swapAt(1, 2)
        let swapped = LedgerVerifier.verify(jsonl: lines.joined(separator: "\n"))
        #expect(swapped.firstBadSeq == 2)
        #expect(swapped.reason?.contains("seq") == true)
        lines.swapAt(1, 2)
        lines.remove(at: 1)
        let removed = LedgerVerifier.verify(jsonl: lines.joined(separator: "\n"))
        #expect(removed.firstBadSeq == 2)
        #expect(removed.reason?.contains("seq gap") == true)
    }

    @Test func brokenLineIsNamed() {
        let report = LedgerVerifier.verify(jsonl: "{\"run\":\"r\",\"seq\":1}\nnot json\n")
        #expect(!report.ok)
        #expect(report.firstBadSeq == 1)
        #expect(report.reason?.hasPrefix("line 1: missing string \"time\"") == true)
    }
}
