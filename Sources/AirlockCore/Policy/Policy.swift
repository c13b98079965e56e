import AirlockModels
import Foundation

/// Rules at the boundary: which tool calls run, which need a human, which are refused.
/// A second layer — the sandbox is the first — so rules are about intent, not safety.
/// The file format (YAML) is documented in docs/policy.md.
public struct Policy: Sendable, Hashable, Codable {
    public enum Decision: String, Sendable, Hashable, Codable, Comparable {
        case allow, ask, deny

        /// Strictness: the strictest matching rule wins.
        var rank: Int { self == .allow ? 0 : self == .ask ? 1 : 2 }
        public static func < (lhs: Decision, rhs: Decision) -> Bool { lhs.rank < rhs.rank }
    }

    public struct Rule: Sendable, Hashable, Codable {
        /// Glob on the tool name (`shell`, `write_file`, `*`).
        public var tool: String?
        /// Glob on the program of any simple command of a `shell` call (`rm`, `git`, `curl`).
        public var program: String?
        /// Glob on any simple command of a `shell` call as text (`git push*`).
        public var command: String?
        /// Glob on the path argument of a file tool (`*.env`, `secrets/*`).
        public var path: String?
        public var decision: Decision
        public var reason: String?
        /// A name for messages and the ledger (default: its position, `rule 3`).
        public var name: String?
    }

    public struct RateLimits: Sendable, Hashable, Codable {
        /// Tool calls per minute across the run.
        public var perRun: Int?
        /// Tool calls per minute for each named tool.
        public var perTool: [String: Int]?

        enum CodingKeys: String, CodingKey { case perRun = "per_run", perTool = "per_tool" }
    }

    /// What a budget that runs out does: end the run (exit 3), or ask the approver, who may
    /// extend it by an amount or end the run.
    public enum BudgetAction: String, Sendable, Hashable, Codable {
        case stop, ask
    }

    /// When no rule matches.
    public var `default`: Decision
    public var rules: [Rule]
    public var rateLimits: RateLimits?
    /// Seconds a human has to answer an `ask` before it is denied, counted from when the
    /// question was first asked (a resumed run does not restart the clock). nil: the
    /// approver's own default (5 minutes at a terminal, an hour for `web`).
    public var approvalTimeout: Int?
    /// `on_budget_exhausted`: `stop` (the default) or `ask`.
    public var onBudgetExhausted: BudgetAction = .stop

    enum CodingKeys: String, CodingKey {
        case `default`, rules, rateLimits = "rate_limits", approvalTimeout = "approval_timeout"
        case onBudgetExhausted = "on_budget_exhausted"
    }

    public init(default decision: Decision = .allow, rules: [Rule] = [], rateLimits: RateLimits? = nil,
                approvalTimeout: Int? = nil) {
        self.default = decision
        self.rules = rules
        self.rateLimits = rateLimits
        self.approvalTimeout = approvalTimeout
    }

    public init(from decoder: Decoder) throws {
        let keys = try decoder.container(keyedBy: CodingKeys.self)
        self.default = try keys.decodeIfPresent(Decision.self, forKey: .default) ?? .allow
        rules = try keys.decodeIfPresent([Rule].self, forKey: .rules) ?? []
        rateLimits = try keys.decodeIfPresent(RateLimits.self, forKey: .rateLimits)
        if let action = try keys.decodeIfPresent(String.self, forKey: .onBudgetExhausted) {
            guard let value = BudgetAction(rawValue: action) else {
                throw DecodingError.dataCorruptedError(forKey: .onBudgetExhausted, in: keys,
                                                       debugDescription: "on_budget_exhausted '\(action)' is not 'stop' or 'ask'")
            }
            onBudgetExhausted = value
        }
        // A number of seconds, or a duration with a unit: `90`, `30s`, `10m`, `1h`.
        if let seconds = try? keys.decodeIfPresent(Int.self, forKey: .approvalTimeout) {
            approvalTimeout = seconds
        } else if let text = try keys.decodeIfPresent(String.self, forKey: .approvalTimeout) {
            guard let seconds = Self.seconds(text) else {
                throw DecodingError.dataCorruptedError(forKey: .approvalTimeout, in: keys,
                                                       debugDescription: "approval_timeout '\(text)' is not a duration like 30s, 10m or 1h")
            }
            approvalTimeout = seconds
        }
        if let timeout = approvalTimeout, timeout < 1 {
            throw DecodingError.dataCorruptedError(forKey: .approvalTimeout, in: keys,
                                                   debugDescription: "approval_timeout must be at least 1 second")
        }
    }

    /// `45`, `45s`, `10m`, `2h` → seconds.
    static func seconds(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Int)] = [("h", 3600), ("m", 60), ("s", 1)]
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            return Int(trimmed.dropLast()).map { $0 * factor }
        }
        return Int(trimmed)
    }

    /// The policy when none is given: everything the schemas accept runs (the sandbox is
    /// what contains it), and nothing is rate-limited.
    public static let permissive = Policy()
}
