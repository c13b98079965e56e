import AirlockCore
import AirlockModels
import Foundation

/// A `CallToolResult` as the model and the ledger see it: text passes through, images
/// and audio are summarised (type and size), `structuredContent` is kept, everything is
/// capped like shell output.
enum MCPResults {
    static func outcome(_ result: JSONValue, limit: Int, base: [String: JSONValue]) -> ToolOutcome {
        var parts: [String] = []
        var images: [ToolImage] = []
        if case .array(let blocks)? = result["content"] {
            for block in blocks.prefix(1000) {
                switch block["type"]?.stringValue {
                case "text": parts.append(block["text"]?.stringValue ?? "")
                case "image", "audio":
                    let size = (block["data"]?.stringValue?.utf8.count ?? 0) * 3 / 4
                    let type = block["mimeType"]?.stringValue ?? "?"
                    if let image = image(block), images.count < ToolImage.maxPerResult {
                        // Attached for a model that takes images; the summary stands for the others.
                        images.append(image)
                        parts.append("[image \(type), about \(size) bytes]")
                    } else {
                        parts.append("[\(block["type"]?.stringValue ?? "") \(type), about \(size) bytes, not shown]")
                    }
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
        if !images.isEmpty {
            record["images"] = .array(images.map { .object(["media_type": .string($0.mediaType), "bytes": .int($0.byteCount)]) })
        }
        if let structured {
            let encoded = structured.canonicalJSON
            record["structured_content"] = encoded.utf8.count <= limit ? structured : .string(OutputClip.clip(encoded, limit: limit))
        }
        var outcome = ToolOutcome(content: text.isEmpty ? "(no content)" : text, isError: isError,
                                  status: isError ? .failed : .completed, exitCode: nil, record: record)
        outcome.images = images
        return outcome
    }

    /// An image block a provider accepts: a known type, base64 that decodes, not too big.
    static func image(_ block: JSONValue) -> ToolImage? {
        guard block["type"]?.stringValue == "image", let type = block["mimeType"]?.stringValue,
              ToolImage.mediaTypes.contains(type), let data = block["data"]?.stringValue,
              data.utf8.count <= ToolImage.maxBytes / 3 * 4 + 4,
              let decoded = Data(base64Encoded: data), !decoded.isEmpty else { return nil }
        return ToolImage(mediaType: type, data: data)
    }
}
