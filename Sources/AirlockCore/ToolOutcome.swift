import AirlockModels

/// What one executed tool call produced: the text the model sees and what the ledger keeps.
public struct ToolOutcome: Sendable {
    public var content: String
    public var isError: Bool
    public var status: ToolCallStatus
    public var exitCode: Int?
    public var record: [String: JSONValue]
    /// Images for a model that takes them (the content already summarises them).
    public var images: [ToolImage] = []

    public init(content: String, isError: Bool, status: ToolCallStatus, exitCode: Int?, record: [String: JSONValue]) {
        self.content = content
        self.isError = isError
        self.status = status
        self.exitCode = exitCode
        self.record = record
    }
}

/// Keeps tool output readable for a model: long output keeps its head and tail.
public enum OutputClip {
    public static func clip(_ text: String, limit: Int) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return text }
        let half = limit / 2
        let head = String(decoding: bytes.prefix(half), as: UTF8.self)
        let tail = String(decoding: bytes.suffix(half), as: UTF8.self)
        return head + "\n… [\(bytes.count - 2 * half) bytes elided] …\n" + tail
    }
}
