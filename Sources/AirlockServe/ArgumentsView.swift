import AirlockCore
import AirlockModels

/// Tool arguments as a reader wants them: each field on its own, strings shown as text
/// (a shell command, a file's content) rather than as escaped JSON.
enum ArgumentsView {
    static func render(_ arguments: JSONValue) -> String {
        guard case .object(let members) = arguments, !members.isEmpty else {
            return "<pre>\(HTML.escape(arguments.canonicalJSON))</pre>"
        }
        return members.keys.sorted().map { key in
            let value = members[key] ?? .null
            let text = value.stringValue ?? value.canonicalJSON
            return "<div class=\"meta\">\(HTML.escape(key))</div><pre>\(HTML.escape(HTML.clip(text)))</pre>"
        }.joined()
    }

    /// Arguments a model sent as a JSON string (a model turn's tool calls).
    static func render(text: String) -> String {
        if let value = try? JSONValue(parsing: text) { return render(value) }
        return "<pre>\(HTML.escape(HTML.clip(text)))</pre>"
    }
}
