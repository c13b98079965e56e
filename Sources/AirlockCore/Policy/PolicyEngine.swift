import AirlockModels
import Foundation
import Glibc

/// Decides a validated tool call against a policy. Pure apart from the rate window, which
/// the caller keeps.
public struct PolicyEngine: Sendable {
    public struct Verdict: Sendable, Hashable {
        public var decision: Policy.Decision
        /// The rule that decided, or nil for the default.
        public var rule: String?
        public var reason: String

        public var payload: [String: JSONValue] {
            ["decision": .string(decision.rawValue), "rule": rule.map { .string($0) } ?? .null, "reason": .string(reason)]
        }
    }

    public let policy: Policy

    public init(policy: Policy) { self.policy = policy }

    /// The strictest decision of the matching rules (deny > ask > allow); the default when
    /// none matches.
    public func decide(_ call: ValidToolCall) -> Verdict {
        var best: Verdict?
        for (index, rule) in policy.rules.enumerated() where matches(rule, call) {
            let name = rule.name ?? "rule \(index + 1)"
            let verdict = Verdict(decision: rule.decision, rule: name,
                                  reason: rule.reason ?? "\(name) says \(rule.decision.rawValue)")
            if best.map({ verdict.decision > $0.decision }) ?? true { best = verdict }
        }
        return best ?? Verdict(decision: policy.default, rule: nil, reason: "no rule matched; the default is \(policy.default.rawValue)")
    }

    func matches(_ rule: Policy.Rule, _ call: ValidToolCall) -> Bool {
        if let tool = rule.tool, !glob(tool, call.name) { return false }
        if rule.program != nil || rule.command != nil {
            guard case .shell(let line, _) = call else { return false }
            let commands = ShellCommands.commands(in: line)
            let hit = commands.contains { words in
                guard let first = words.first else { return false }
                let programOK = rule.program.map { glob($0, ShellCommands.basename(first)) } ?? true
                let commandOK = rule.command.map { pattern in
                    glob(pattern, ([ShellCommands.basename(first)] + words.dropFirst()).joined(separator: " "))
                        || glob(pattern, words.joined(separator: " "))
                } ?? true
                return programOK && commandOK
            }
            if !hit { return false }
        }
        if let pattern = rule.path {
            guard let path = Self.path(of: call) else { return false }
            let relative = path.hasPrefix("/workspace/") ? String(path.dropFirst("/workspace/".count)) : path
            if !glob(pattern, relative) && !glob(pattern, path) { return false }
        }
        return true
    }

    static func path(of call: ValidToolCall) -> String? {
        switch call {
        case .readFile(let path), .writeFile(let path, _), .editFile(let path, _, _), .listFiles(let path): path
        case .shell, .submit, .declared, .provided: nil
        }
    }

    private func glob(_ pattern: String, _ text: String) -> Bool {
        fnmatch(pattern, text, 0) == 0
    }
}

/// Calls per minute, per tool and for the run: a sliding 60-second window.
public struct RateWindow: Sendable {
    private var calls: [(tool: String, at: ContinuousClock.Instant)] = []

    public init() {}

    /// Records the call if it is within the limits; otherwise returns why it is not.
    public mutating func admit(_ tool: String, limits: Policy.RateLimits?, now: ContinuousClock.Instant = .now) -> String? {
        calls.removeAll { now - $0.at > .seconds(60) }
        if let perRun = limits?.perRun, calls.count >= perRun {
            return "rate limit: at most \(perRun) tool calls a minute for the run"
        }
        if let perTool = limits?.perTool?[tool], calls.filter({ $0.tool == tool }).count >= perTool {
            return "rate limit: at most \(perTool) \(tool) calls a minute"
        }
        calls.append((tool, now))
        return nil
    }
}
