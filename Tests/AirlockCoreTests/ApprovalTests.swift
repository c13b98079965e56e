import AirlockTestSupport
import AirlockModels
import AirlockSandbox
import Foundation
import Synchronization
import Testing

@testable import AirlockCore
import AirlockBubblewrap
@testable import AirlockStoreSQLite

/// Answers from a list, recording what it was asked.
final class ScriptedApprover: Approver, Sendable {
    let name = "scripted"
    private let answers: Mutex<[ApprovalAnswer]>
    private let asked = Mutex<[ApprovalRequest]>([])

    init(_ answers: [ApprovalAnswer]) { self.answers = Mutex(answers) }

    var requests: [ApprovalRequest] { asked.withLock { $0 } }

    func decide(_ request: ApprovalRequest) async -> ApprovalAnswer {
        asked.withLock { $0.append(request) }
        return answers.withLock { $0.isEmpty ? ApprovalAnswer(.deny, by: "nobody") : $0.removeFirst() }
    }
}

@Suite("Approvals")
struct ApprovalTests {
    static let askTouch = Policy(rules: [Policy.Rule(program: "touch", decision: .ask, reason: "touching needs a nod", name: "ask-touch")])

    @Test("terminal answers parse", arguments: [
        ("y", ApprovalAnswer.Decision.approve), ("yes", .approve), ("a", .approveRule), ("t", .terminate),
        ("n", .deny), ("n too risky", .deny), ("", .deny), ("maybe", .deny),
    ])
    func parse(line: String, expected: ApprovalAnswer.Decision) {
        #expect(TerminalApprover.parse(line, by: "alice").decision == expected)
    }

    @Test("the terminal approver reads an answer, keeps a reason, and denies on silence")
    func terminalApprover() async throws {
        let request = ApprovalRequest(run: "r", call: "c", tool: "shell", summary: "touch x", rule: "ask-touch", reason: "why")
        for (input, decision, reason) in [("y\n", ApprovalAnswer.Decision.approve, nil as String?),
                                          ("n not today\n", .deny, "not today")] {
            let pipe = Pipe(), sink = Pipe()
            pipe.fileHandleForWriting.write(Data(input.utf8))
            let answer = await TerminalApprover(input: pipe.fileHandleForReading, output: sink.fileHandleForWriting,
                                                timeout: .seconds(10)).decide(request)
            #expect(answer.decision == decision)
            #expect(answer.reason == reason)
            #expect(!answer.by.isEmpty && answer.by != "airlock")
        }
        let silent = Pipe(), sink = Pipe()
        let answer = await TerminalApprover(input: silent.fileHandleForReading, output: sink.fileHandleForWriting,
                                            timeout: .milliseconds(200)).decide(request)
        #expect(answer.decision == .deny)
        #expect(answer.by == "airlock")
        silent.fileHandleForWriting.closeFile()
    }

    func run(_ answers: [ApprovalAnswer], turns: [[String: Any]]) async throws -> (LoopFixture, LoopRun, ScriptedApprover) {
        let fixture = try LoopFixture()
        let approver = ScriptedApprover(answers)
        let store = try fixture.store()
        var configuration = fixture.configuration(ModelSpec(provider: .script, name: "inline.json"))
        configuration.policy = Self.askTouch
        let model = try Script.model(turns)
        let events = EventRecorder()
        let loop = AgentLoop(configuration: configuration, model: model, backend: BubblewrapBackend(), store: store,
                             approver: approver, onEvent: events.handler)
        let result = try await withLimit(.seconds(30)) { try await loop.run() }
        return (fixture, LoopRun(result: result, events: events, store: store), approver)
    }

    @Test("approved: the call runs, and the ledger records who approved before the frame")
    func approved() async throws {
        let (fixture, run, approver) = try await run([ApprovalAnswer(.approve, by: "alice")],
                                                     turns: [Script.shell("touch made.txt"), Script.submit()])
        defer { fixture.remove() }
        #expect(run.result.exitCode == 0)
        #expect(fixture.file("made.txt") != nil)
        #expect(approver.requests.count == 1)
        let kinds = run.ledgerKinds
        let asked = try #require(kinds.firstIndex(of: "approval_requested"))
        let answered = try #require(kinds.firstIndex(of: "approval_answered"))
        let frame = try #require(kinds.firstIndex(of: "frame_sent"))
        #expect(asked < answered && answered < frame)
        let entry = try #require(try await run.store.ledgerEntries(run: run.result.runID).first { $0.kind == .approvalAnswered })
        #expect(entry.payload["by"]?.stringValue == "alice")
        #expect(entry.payload["decision"]?.stringValue == "approve")
        #expect(try await run.store.verifyLedger(run: run.result.runID).ok)
    }

    @Test("denied: the call never runs and the model is told who denied it and why")
    func denied() async throws {
        let (fixture, run, _) = try await run([ApprovalAnswer(.deny, reason: "not on main", by: "bob")],
                                              turns: [Script.shell("touch made.txt"), Script.submit()])
        defer { fixture.remove() }
        #expect(run.result.exitCode == 0)
        #expect(fixture.file("made.txt") == nil)
        let result = try #require(try await run.store.ledgerEntries(run: run.result.runID).first { $0.kind == .toolResult })
        #expect(result.payload["status"]?.stringValue == "denied")
        #expect(result.payload["content"]?.stringValue?.contains("bob: not on main") == true)
    }

    @Test("terminated: the run ends with exit 4")
    func terminated() async throws {
        let (fixture, run, _) = try await run([ApprovalAnswer(.terminate, by: "carol")],
                                              turns: [Script.shell("touch made.txt"), Script.submit()])
        defer { fixture.remove() }
        #expect(run.result.outcome == .terminated)
        #expect(run.result.exitCode == 4)
        #expect(fixture.file("made.txt") == nil)
        #expect(try await run.store.verifyLedger(run: run.result.runID).ok)
    }

    @Test("approving a rule for the run answers its later asks without asking again")
    func approveRule() async throws {
        let (fixture, run, approver) = try await run([ApprovalAnswer(.approveRule, by: "dave")],
                                                     turns: [Script.shell("touch a.txt"), Script.shell("touch b.txt"), Script.submit()])
        defer { fixture.remove() }
        #expect(run.result.exitCode == 0)
        #expect(fixture.file("a.txt") != nil && fixture.file("b.txt") != nil)
        #expect(approver.requests.count == 1)
    }

    @Test("approval_timeout in the policy: a number or a duration, at least a second")
    func timeoutParses() throws {
        #expect(try PolicyFile.parse("approval_timeout: 90\n").approvalTimeout == 90)
        #expect(try PolicyFile.parse("approval_timeout: 10m\n").approvalTimeout == 600)
        #expect(try PolicyFile.parse("approval_timeout: 2h\n").approvalTimeout == 7200)
        #expect(try PolicyFile.parse("default: allow\n").approvalTimeout == nil)
        #expect(throws: PolicyFile.Failure.self) { try PolicyFile.parse("approval_timeout: soon\n") }
        #expect(throws: PolicyFile.Failure.self) { try PolicyFile.parse("approval_timeout: 0\n") }
    }

    @Test("the policy's timeout denies an unanswered ask, counted from when it was first asked")
    func queueTimeoutFromFirstAsk() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        let store = try fixture.store()
        let approver = QueueApprover(store: store, timeout: .seconds(3600))
        var request = ApprovalRequest(run: "r", call: "c", tool: "shell", summary: "touch x", rule: "ask-touch", reason: "why")
        request.timeout = .seconds(1)
        let clock = ContinuousClock()
        let started = clock.now
        let answer = await approver.decide(request)
        #expect(answer.decision == .deny)
        #expect(answer.by == "airlock")
        #expect(answer.reason?.contains("1") == true, "\(answer.reason ?? "")")
        #expect(clock.now - started < .seconds(60), "the policy's second, not the approver's hour")
        // Asked long ago (before a restart): the time is already up, but an answer given
        // meanwhile still counts.
        request.askedAt = Date(timeIntervalSinceNow: -120)
        request.timeout = .seconds(60)
        #expect(request.remaining(default: .seconds(3600)) == .zero)
        #expect(await approver.decide(request).decision == .deny)
        _ = try await store.answerApproval(run: "r", call: "c", decision: .approve, reason: nil, by: "alice")
        let late = await approver.decide(request)
        #expect(late.decision == .approve && late.by == "alice")
    }
}
