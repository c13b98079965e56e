import AirlockCore
import AirlockModels

/// A `CallToolResult` as the model and the ledger see it: text passes through, images
/// and audio are summarised (type and size), `structuredContent` is kept, everything is
/// capped like shell output.
enum MCPResults {
    static func outcome(_ result: JSONValue, limit: Int, base: [String: JSONValue]) -> ToolOutcome {
        var parts: [String] = []
        if case .array(let blocks)? = result["content"] {
            for block in blocks.prefix(1000) {
                switch block["type"]?.stringValue {
                case "text": parts.append(block["text"]?.stringValue ?? "")
                case "image", "audio":
                    let size = (block["data"]?.stringValue?.utf8.count ?? 0) * 3 / 4
                    parts.append("[\(block["type"]?.stringValue ?? "") \(block["mimeType"]?.stringValue ?? "?"), about \(size) bytes, not shown]")
                case "resource_link": parts.append("[resource \(block["uri"]?.stringValue ?? "?")]")
                case "resource":
                    let resource = block["resource"]
                    parts.append(resource?["text"]?.stringValue ?? "[resource \(resource?["uri"]?.stringValue ?? "?")]")
                default: parts.append("[content of type \(block["type"]?.stringValue ?? "?") not shown]")
                }
            }
        }
        let structured = result["structuredContent"]
        if parts.isEmpty, let structured { parts.append(structured.canonicalJSON) }
        let isError = result["isError"] == .bool(true)
        let text = OutputClip.clip(parts.joined(separator: "\n"), limit: limit)
        var record = base
        record["is_error"] = .bool(isError)
        if let structured {
            let encoded = structured.canonicalJSON
            record["structured_content"] = encoded.utf8.count <= limit ? structured : .string(OutputClip.clip(encoded, limit: limit))
        }
        return ToolOutcome(content: text.isEmpty ? "(no content)" : text, isError: isError,
                           status: isError ? .failed : .completed, exitCode: nil, record: record)
    }
}
