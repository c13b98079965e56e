import AirlockModels
import Foundation
import Testing

@testable import AirlockCore
@testable import AirlockStoreSQLite

@Suite("Policy engine")
struct PolicyTests {
    static let rmPolicy = Policy(default: .allow, rules: [
        Policy.Rule(tool: "shell", decision: .allow, reason: "shell is fine"),
        Policy.Rule(program: "rm", decision: .deny, reason: "no deleting", name: "no-rm"),
        Policy.Rule(command: "git push*", decision: .ask, reason: "pushing needs a human"),
        Policy.Rule(tool: "write_file", path: "*.env", decision: .deny, reason: "no env files"),
    ])

    func decide(_ command: String, _ policy: Policy = rmPolicy) -> Policy.Decision {
        PolicyEngine(policy: policy).decide(.shell(command: command, timeoutSeconds: nil)).decision
    }

    @Test("the strictest matching rule wins", arguments: [
        ("ls -la", Policy.Decision.allow),
        ("rm -rf build", .deny),
        ("git push origin main", .ask),
        ("git status", .allow),
    ])
    func strictestWins(command: String, expected: Policy.Decision) {
        #expect(decide(command) == expected, "\(command)")
    }

    @Test("a rule on rm sees rm however it is wrapped", arguments: [
        "sh -c 'rm -rf x'", "bash -lc \"rm -rf x\"", "env rm x", "env FOO=1 rm x", "xargs rm < list",
        "find . -name '*.o' | xargs -n 1 rm", "a && rm b", "true; rm b", "false || rm b", "(cd x && rm y)",
        "echo $(rm x)", "echo `rm x`", "sudo -n rm x", "timeout 5 rm x", "nohup rm x &", "/bin/rm x",
        "FOO=bar rm x", "sh -c \"sh -c 'rm x'\"",
    ])
    func wrappedRm(command: String) {
        #expect(decide(command) == .deny, "\(command) slipped past the rm rule: \(ShellCommands.commands(in: command))")
    }

    @Test("words that only mention rm are not rm", arguments: ["echo rm", "grep rm file", "git rm --cached x", "cat 'rm x'"])
    func mentionsAreNotCalls(command: String) {
        #expect(decide(command) == .allow, "\(command): \(ShellCommands.commands(in: command))")
    }

    @Test("path globs match file tools")
    func pathGlobs() {
        let engine = PolicyEngine(policy: Self.rmPolicy)
        #expect(engine.decide(.writeFile(path: ".env", content: "")).decision == .deny)
        #expect(engine.decide(.writeFile(path: "config/prod.env", content: "")).decision == .deny)
        #expect(engine.decide(.writeFile(path: "/workspace/x.env", content: "")).decision == .deny)
        #expect(engine.decide(.writeFile(path: "main.swift", content: "")).decision == .allow)
        #expect(engine.decide(.readFile(path: ".env")).decision == .allow)
    }

    @Test("the default applies when no rule matches, and names itself")
    func defaultDecision() {
        let verdict = PolicyEngine(policy: Policy(default: .ask)).decide(.listFiles(path: "."))
        #expect(verdict.decision == .ask)
        #expect(verdict.rule == nil)
    }

    @Test("rate limits per tool and per run, over a sliding minute")
    func rateLimits() {
        let limits = Policy.RateLimits(perRun: 3, perTool: ["shell": 2])
        var window = RateWindow()
        let start = ContinuousClock.now
        #expect(window.admit("shell", limits: limits, now: start) == nil)
        #expect(window.admit("shell", limits: limits, now: start) == nil)
        #expect(window.admit("shell", limits: limits, now: start)?.contains("2 shell calls") == true)
        #expect(window.admit("read_file", limits: limits, now: start) == nil)
        #expect(window.admit("read_file", limits: limits, now: start)?.contains("3 tool calls") == true)
        #expect(window.admit("shell", limits: limits, now: start + .seconds(61)) == nil)
    }

    @Test("a YAML policy file parses; a bad one names the problem")
    func yamlFile() throws {
        let policy = try PolicyFile.parse("""
            default: allow
            rate_limits:
              per_run: 100
              per_tool:
                shell: 30
            rules:
              - program: rm
                decision: deny
                reason: deleting needs a human
              - tool: write_file
                path: "secrets/*"
                decision: ask
            """)
        #expect(policy.rules.count == 2)
        #expect(policy.rateLimits?.perTool?["shell"] == 30)
        #expect(PolicyEngine(policy: policy).decide(.shell(command: "env rm -f x", timeoutSeconds: nil)).decision == .deny)
        #expect(throws: PolicyFile.Failure.self) { try PolicyFile.parse("rules:\n  - decision: deny\n") }
        #expect(throws: PolicyFile.Failure.self) { try PolicyFile.parse("rules:\n  - program: rm\n    decision: maybe\n") }
    }

    @Test("in a run, a denied call never reaches the sandbox and the model is told why")
    func deniedInARun() async throws {
        let fixture = try LoopFixture()
        defer { fixture.remove() }
        FileManager.default.createFile(atPath: fixture.workspace + "/keep.txt", contents: Data("keep".utf8))
        chmod(fixture.workspace + "/keep.txt", 0o666)
        let model = try Script.model([Script.shell("sh -c 'rm -f keep.txt'"), Script.shell("echo ok"), Script.submit()])
        let run = try await fixture.run(model) { $0.policy = Self.rmPolicy }
        #expect(run.result.exitCode == 0)
        #expect(fixture.file("keep.txt") == "keep")
        let entries = try await run.store.ledgerEntries(run: run.result.runID)
        let kinds = entries.map(\.kind.rawValue)
        let decision = try #require(entries.first { $0.kind == .policyDecision })
        #expect(decision.payload["decision"]?.stringValue == "deny")
        #expect(decision.payload["rule"]?.stringValue == "no-rm")
        let denied = try #require(entries.first { $0.kind == .toolResult })
        #expect(denied.payload["status"]?.stringValue == "denied")
        #expect(denied.payload["content"]?.stringValue?.contains("no deleting") == true)
        // The first frame sent belongs to the second, allowed call.
        let firstFrame = try #require(kinds.firstIndex(of: "frame_sent"))
        #expect(firstFrame > (kinds.firstIndex(of: "policy_decision") ?? Int.max))
        #expect(run.events.types.contains("tool_denied"))
        #expect(try await run.store.verifyLedger(run: run.result.runID).ok)
    }
}
