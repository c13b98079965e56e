import AirlockModels
import AirlockOTLP
import AirlockTestSupport
import Foundation
import Testing

@testable import AirlockCore
@testable import AirlockStoreSQLite

/// The trace of a real run, sent over OTLP/HTTP to a receiver running in the test, decoded
/// as it arrived.
@Suite("OpenTelemetry export")
struct TelemetryTests {
    private func recordedRun() async throws -> (LoopFixture, LoopRun) {
        let fixture = try LoopFixture()
        let model = try Script.model([
            Script.shell("echo traced > t.txt", usage: (100, 10)),
            Script.submit("done", usage: (120, 5)),
        ])
        return (fixture, try await fixture.run(model))
    }

    private func received(_ spans: [TraceSpan]) async throws -> (RecordedRequest, [JSONValue]) {
        let receiver = try await TestHTTPServer.start([.json("{}")])
        defer { Task { await receiver.shutdown() } }
        let configuration = try #require(try OTLPConfiguration(environment: [
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.baseURL, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
            "OTEL_EXPORTER_OTLP_HEADERS": "x-team=airlock"]))
        try await OTLPSender(configuration: configuration).deliver(spans)
        let request = try #require(receiver.requests.first)
        let document = try JSONValue(parsing: request.text)
        guard case .array(let resourceSpans)? = document["resourceSpans"],
              case .array(let scopeSpans)? = resourceSpans.first?["scopeSpans"],
              case .array(let decoded)? = scopeSpans.first?["spans"] else {
            Issue.record("not an OTLP traces document: \(request.text.prefix(300))")
            return (request, [])
        }
        return (request, decoded)
    }

    private func attribute(_ span: JSONValue, _ key: String) -> JSONValue? {
        guard case .array(let attributes)? = span["attributes"] else { return nil }
        return attributes.first { $0["key"]?.stringValue == key }?["value"]
    }

    @Test("spans follow the GenAI conventions, link to the root, and carry usage")
    func spansArriveAtTheReceiver() async throws {
        let (fixture, run) = try await recordedRun()
        defer { fixture.remove() }
        #expect(run.result.exitCode == 0)
        let spans = LedgerSpans.build(try await run.store.ledgerEntries(run: run.result.runID))
        let (request, decoded) = try await received(spans)

        #expect(request.method == "POST")
        #expect(request.uri == "/v1/traces")
        #expect(request.header("content-type") == "application/json")
        #expect(request.header("x-team") == "airlock")

        let names = decoded.compactMap { $0["name"]?.stringValue }
        #expect(names.contains("invoke_agent airlock"))
        #expect(names.filter { $0 == "chat inline.json" }.count == 2)
        #expect(names.contains("execute_tool shell"))
        #expect(names.contains { $0.hasPrefix("sandbox ") })

        let root = try #require(decoded.first { $0["name"]?.stringValue == "invoke_agent airlock" })
        let rootID = try #require(root["spanId"]?.stringValue)
        let traceID = try #require(root["traceId"]?.stringValue)
        #expect(traceID.count == 32 && rootID.count == 16)
        #expect(root["parentSpanId"] == nil)
        for span in decoded where span["spanId"]?.stringValue != rootID {
            #expect(span["parentSpanId"]?.stringValue == rootID)
            #expect(span["traceId"]?.stringValue == traceID)
        }
        let chats = decoded.filter { $0["name"]?.stringValue == "chat inline.json" }
        let inputs = chats.compactMap { attribute($0, "gen_ai.usage.input_tokens")?["intValue"]?.stringValue }
        #expect(Set(inputs) == ["100", "120"])
        #expect(attribute(root, "gen_ai.usage.input_tokens")?["intValue"]?.stringValue == "220")
        #expect(attribute(root, "gen_ai.usage.output_tokens")?["intValue"]?.stringValue == "15")
        #expect(attribute(chats[0], "gen_ai.operation.name")?["stringValue"]?.stringValue == "chat")
        let tool = try #require(decoded.first { $0["name"]?.stringValue == "execute_tool shell" })
        #expect(attribute(tool, "gen_ai.tool.name")?["stringValue"]?.stringValue == "shell")
        // Content stays out unless asked for.
        #expect(attribute(chats[0], "gen_ai.output.messages") == nil)
        #expect(attribute(tool, "gen_ai.tool.call.arguments") == nil)
        for span in decoded {
            let start = UInt64(span["startTimeUnixNano"]?.stringValue ?? "") ?? 0
            let end = UInt64(span["endTimeUnixNano"]?.stringValue ?? "") ?? 0
            #expect(start > 0 && end >= start)
        }
    }

    @Test("an egress request is a client span under the tool call it ran in, with its verdict and bytes")
    func egressSpans() throws {
        func entry(_ seq: Int, _ kind: LedgerKind, _ payload: String) -> LedgerEntry {
            LedgerEntry(run: "r-egress", seq: seq, time: "2026-11-29T16:00:0\(seq).000Z", kind: kind, payloadJSON: payload,
                        prevHash: "", hash: "")
        }
        let entries = [
            entry(1, .runStarted, #"{"model":"script:x.json","task":"t"}"#),
            entry(2, .toolCallValidated, #"{"call":"call_1","name":"shell"}"#),
            entry(3, .toolResult, #"{"call":"call_1","status":"completed"}"#),
            // Written after the call's result, as requests end.
            entry(4, .egressRequest, #"{"allowed":false,"bytes_down":39,"bytes_up":90,"call":"call_1","duration_ms":250,"host":"evil.test","method":"GET","path":"/x","port":80,"reason":"not allowed","scheme":"http","started":"2026-11-29T16:00:02.500Z"}"#),
            entry(5, .egressRequest, #"{"allowed":true,"bytes_down":10,"bytes_up":10,"duration_ms":5,"host":"ok.test","method":"CONNECT","port":443,"scheme":"tunnel","started":"2026-11-29T16:00:04.000Z"}"#),
        ]
        let spans = LedgerSpans.build(entries)
        let tool = try #require(spans.first { $0.name == "execute_tool shell" })
        let refused = try #require(spans.first { $0.name == "GET evil.test" })
        #expect(refused.parentSpanID == tool.spanID)
        #expect(refused.kind == .client && refused.isError)
        #expect(refused.endNanos - refused.startNanos == 250_000_000)
        #expect(refused.attributes["server.address"] == .string("evil.test") && refused.attributes["url.path"] == .string("/x"))
        #expect(refused.attributes["airlock.egress.reason"] == .string("not allowed"))
        let tunnel = try #require(spans.first { $0.name == "CONNECT ok.test" })
        #expect(tunnel.parentSpanID == spans.first { $0.parentSpanID == nil }?.spanID, "no call: under the root")
        #expect(!tunnel.isError)
    }

    @Test("message content is included only with --otel-content")
    func contentOnlyWhenAsked() async throws {
        let (fixture, run) = try await recordedRun()
        defer { fixture.remove() }
        let spans = LedgerSpans.build(try await run.store.ledgerEntries(run: run.result.runID), includeContent: true)
        let (_, decoded) = try await received(spans)
        let tool = try #require(decoded.first { $0["name"]?.stringValue == "execute_tool shell" })
        let arguments = attribute(tool, "gen_ai.tool.call.arguments")?["stringValue"]?.stringValue ?? ""
        #expect(arguments.contains("echo traced"))
    }
}

@Suite("Ledger signature")
struct ChainSignatureTests {
    @Test("a signed run verifies with its public key and fails with another")
    func signatureChecksTheKey() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let keys = NSTemporaryDirectory() + "airlock-keys-" + UUID().uuidString.prefix(8)
        defer { for suffix in [".key", ".pub", "-other.key", "-other.pub"] { try? FileManager.default.removeItem(atPath: keys + suffix) } }
        try ChainSignature.generate(prefix: keys)
        try ChainSignature.generate(prefix: keys + "-other")
        let raw = try ChainSignature.loadPrivateKey(keys + ".key")
        let run = try await fixture.run(try Script.model([Script.submit("signed")])) { $0.signingKey = raw }
        let entries = try await run.store.ledgerEntries(run: run.result.runID)
        #expect(entries.last?.kind == ChainSignature.kind)
        #expect(try await run.store.verifyLedger(run: run.result.runID).ok)
        #expect(ChainSignature.verify(entries, publicKey: try ChainSignature.loadPublicKey(keys + ".pub")).ok)
        let wrong = ChainSignature.verify(entries, publicKey: try ChainSignature.loadPublicKey(keys + "-other.pub"))
        #expect(!wrong.ok)
        #expect(wrong.reason.contains("not valid"))
        // A signature cannot be moved onto another head.
        var moved = entries
        moved.remove(at: moved.count - 2)
        #expect(!ChainSignature.verify(moved, publicKey: try ChainSignature.loadPublicKey(keys + ".pub")).ok)
    }

    @Test("an unsigned run fails a signature check")
    func unsignedRunFails() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let keys = NSTemporaryDirectory() + "airlock-keys-" + UUID().uuidString.prefix(8)
        defer { for suffix in [".key", ".pub"] { try? FileManager.default.removeItem(atPath: keys + suffix) } }
        try ChainSignature.generate(prefix: keys)
        let run = try await fixture.run(try Script.model([Script.submit("unsigned")]))
        let check = ChainSignature.verify(try await run.store.ledgerEntries(run: run.result.runID),
                                          publicKey: try ChainSignature.loadPublicKey(keys + ".pub"))
        #expect(!check.ok)
    }
}
