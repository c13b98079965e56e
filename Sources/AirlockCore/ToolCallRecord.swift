/// Where a tool call stands. Open-ended like `LedgerKind`: the loop may add its own words.
public struct ToolCallStatus: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }

    public static let proposed: ToolCallStatus = "proposed"
    public static let rejected: ToolCallStatus = "rejected"
    public static let awaitingApproval: ToolCallStatus = "awaiting_approval"
    public static let denied: ToolCallStatus = "denied"
    public static let running: ToolCallStatus = "running"
    public static let completed: ToolCallStatus = "completed"
    public static let failed: ToolCallStatus = "failed"
    public static let timedOut: ToolCallStatus = "timed_out"
}

/// One row of `tool_calls`. `callID` is the provider's id and must be unique within a run.
public struct ToolCallRecord: Sendable, Hashable, Codable {
    public var run: String
    public var callID: String
    public var step: Int
    public var name: String
    /// The arguments JSON as the model sent it (redacted).
    public var arguments: String
    public var status: ToolCallStatus
    public var result: String?
    public var exitCode: Int?
    public var startedAt: String
    public var finishedAt: String?

    public init(run: String, callID: String, step: Int, name: String, arguments: String,
                status: ToolCallStatus, result: String? = nil, exitCode: Int? = nil,
                startedAt: String, finishedAt: String? = nil) {
        self.run = run
        self.callID = callID
        self.step = step
        self.name = name
        self.arguments = arguments
        self.status = status
        self.result = result
        self.exitCode = exitCode
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    enum CodingKeys: String, CodingKey {
        case run, step, name, arguments, status, result
        case callID = "call_id"
        case exitCode = "exit_code"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}
