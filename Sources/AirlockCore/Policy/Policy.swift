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

    /// When no rule matches.
    public var `default`: Decision
    public var rules: [Rule]
    public var rateLimits: RateLimits?

    enum CodingKeys: String, CodingKey { case `default`, rules, rateLimits = "rate_limits" }

    public init(default decision: Decision = .allow, rules: [Rule] = [], rateLimits: RateLimits? = nil) {
        self.default = decision
        self.rules = rules
        self.rateLimits = rateLimits
    }

    public init(from decoder: Decoder) throws {
        let keys = try decoder.container(keyedBy: CodingKeys.self)
        self.default = try keys.decodeIfPresent(Decision.self, forKey: .default) ?? .allow
        rules = try keys.decodeIfPresent([Rule].self, forKey: .rules) ?? []
        rateLimits = try keys.decodeIfPresent(RateLimits.self, forKey: .rateLimits)
    }

    /// The policy when none is given: everything the schemas accept runs (the sandbox is
    /// what contains it), and nothing is rate-limited.
    public static let permissive = Policy()
}
