import AirlockEgress
import AirlockModels
import Foundation

extension EgressRecord {
    /// The `egress_request` entry: what was asked, what the proxy decided, what it cost.
    /// Secrets appear by name only; the proxy never puts a value in a record.
    var ledgerPayload: [String: JSONValue] {
        var payload: [String: JSONValue] = [
            "host": .string(host), "port": .int(port), "method": .string(method),
            "scheme": .string(scheme), "allowed": .bool(allowed),
            "bytes_up": .int(bytesUp), "bytes_down": .int(bytesDown), "duration_ms": .int(durationMs),
            "started": .string(Timestamp.rfc3339(startedAt)),
        ]
        if let path { payload["path"] = .string(path) }
        if let reason { payload["reason"] = .string(reason) }
        if let tag { payload["call"] = .string(tag) }
        if !secrets.isEmpty { payload["secrets"] = .array(secrets.map { .string($0) }) }
        return payload
    }
}
