import AirlockModels

extension SchemaValidator {
    static func checkObject(_ members: [String: JSONValue], _ schema: JSONValue, _ path: String) -> Violation? {
        let properties: [String: JSONValue]
        if case .object(let declared)? = schema["properties"] { properties = declared } else { properties = [:] }
        let known = properties.keys.sorted().joined(separator: ", ")
        if case .array(let required)? = schema["required"] {
            for name in required.compactMap(\.stringValue) where members[name] == nil {
                let type = properties[name]?["type"]?.stringValue.map { " (\($0))" } ?? ""
                // A misspelt field shows up as both missing and unknown: say both.
                let strays = members.keys.filter { properties[$0] == nil }.sorted()
                let hint = strays.isEmpty ? "" : " (got unknown " + (strays.count == 1 ? "field " : "fields ")
                    + strays.map { "\"\($0)\"" }.joined(separator: ", ") + ")"
                return Violation(kind: .missingField, path: join(path, name),
                                 message: "missing required field \"\(name)\"\(type)\(hint)")
            }
        }
        for name in members.keys.sorted() where properties[name] == nil {
            switch schema["additionalProperties"] {
            case .bool(false)?:
                return Violation(kind: .unknownField, path: join(path, name),
                                 message: "unknown field \"\(name)\"; the fields are: \(known)")
            case let extra? where extra.stringValue == nil && extra != .bool(true):
                if let member = members[name],
                   let violation = validate(member, against: extra, path: join(path, name)) {
                    return violation
                }
            default: continue
            }
        }
        for name in members.keys.sorted() {
            guard let propertySchema = properties[name], let member = members[name] else { continue }
            if let violation = validate(member, against: propertySchema, path: join(path, name)) {
                return violation
            }
        }
        return nil
    }

    private static func join(_ path: String, _ name: String) -> String {
        path.isEmpty ? name : path + "." + name
    }
}
