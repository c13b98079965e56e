import AirlockModels

/// What one executed tool call produced: the text the model sees and what the ledger keeps.
struct ToolOutcome: Sendable {
    var content: String
    var isError: Bool
    var status: ToolCallStatus
    var exitCode: Int?
    var record: [String: JSONValue]
}

/// Keeps tool output readable for a model: long output keeps its head and tail.
enum OutputClip {
    static func clip(_ text: String, limit: Int) -> String {
        let bytes = Array(text.utf8)
        guard bytes.count > limit else { return text }
        let half = limit / 2
        let head = String(decoding: bytes.prefix(half), as: UTF8.self)
        let tail = String(decoding: bytes.suffix(half), as: UTF8.self)
        return head + "\n… [\(bytes.count - 2 * half) bytes elided] …\n" + tail
    }
}
