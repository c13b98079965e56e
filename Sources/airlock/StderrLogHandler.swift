import AirlockCore
import AirlockModels
import Foundation
import Logging

/// One diagnostic a line on stderr: `airlock: warning: message key=value` as text, or a JSON
/// object (`time`, `level`, `logger`, `message`, metadata) for log collectors.
struct StderrLogHandler: LogHandler {
    let label: String
    let json: Bool
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]

    init(label: String, json: Bool) {
        self.label = label
        self.json = json
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let line: String
        if json {
            var object: [String: JSONValue] = [
                "time": .string(Timestamp.rfc3339()), "level": .string(event.level.rawValue),
                "logger": .string(label), "message": .string("\(event.message)"),
            ]
            for (key, value) in merged where object[key] == nil { object[key] = .string("\(value)") }
            line = JSONValue.object(object).canonicalJSON
        } else {
            let fields = merged.keys.sorted().map { "\($0)=\(merged[$0].map { "\($0)" } ?? "")" }
            line = (["airlock: \(event.level.rawValue): \(event.message)"] + fields).joined(separator: " ")
        }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
