import AirlockModels

/// A JSON Schema subset, enough for tool arguments: `type` (a name or a list), `properties`,
/// `required`, `additionalProperties` (bool or schema), `items`, `enum`, `minimum`,
/// `maximum`, `minLength`, `maxLength`. Other keywords are ignored. Reports the first
/// violation, checking an object's missing fields, then unknown ones, then each property
/// in key order, so the result is deterministic.
public enum SchemaValidator {
    public struct Violation: Sendable, Hashable {
        public var kind: ToolCallProblem.Kind
        /// Dotted path of the value, e.g. `timeout_s` or `items[2]`; empty for the root.
        public var path: String
        public var message: String
    }

    public static func validate(_ value: JSONValue, against schema: JSONValue, path: String = "") -> Violation? {
        if let violation = checkType(value, schema, path) { return violation }
        if case .array(let allowed)? = schema["enum"], !allowed.contains(value) {
            let choices = allowed.map(\.canonicalJSON).joined(separator: ", ")
            return Violation(kind: .notAllowed, path: path,
                             message: "\(describe(path)) must be one of \(choices), got \(value.canonicalJSON)")
        }
        switch value {
        case .string(let text): return checkString(text, schema, path)
        case .int, .double: return checkNumber(value, schema, path)
        case .object(let members): return checkObject(members, schema, path)
        case .array(let items):
            guard let itemSchema = schema["items"] else { return nil }
            for (index, item) in items.enumerated() {
                if let violation = validate(item, against: itemSchema, path: "\(path)[\(index)]") {
                    return violation
                }
            }
            return nil
        case .null, .bool: return nil
        }
    }

    /// `"timeout_s"` or `the arguments` for the root: the words messages use.
    static func describe(_ path: String) -> String {
        path.isEmpty ? "the arguments" : "\"\(path)\""
    }

    static func typeName(of value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double(let number): return number.rounded() == number ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    static func matches(_ value: JSONValue, type: String) -> Bool {
        let actual = typeName(of: value)
        return actual == type || (type == "number" && actual == "integer")
    }

    private static func checkType(_ value: JSONValue, _ schema: JSONValue, _ path: String) -> Violation? {
        let types: [String]
        switch schema["type"] {
        case .string(let name)?: types = [name]
        case .array(let names)?: types = names.compactMap(\.stringValue)
        default: return nil
        }
        guard !types.contains(where: { matches(value, type: $0) }) else { return nil }
        let expected = types.joined(separator: " or ")
        return Violation(kind: path.isEmpty && types == ["object"] ? .notAnObject : .wrongType, path: path,
                         message: "\(describe(path)) must be \(article(expected)) \(expected), got \(article(typeName(of: value))) \(typeName(of: value))")
    }

    private static func article(_ word: String) -> String {
        word.first.map { "aeiou".contains($0) } == true ? "an" : "a"
    }

    private static func checkString(_ text: String, _ schema: JSONValue, _ path: String) -> Violation? {
        let length = text.unicodeScalars.count
        if let minimum = schema["minLength"]?.intValue, length < minimum {
            return text.isEmpty
                ? Violation(kind: .emptyValue, path: path, message: "\(describe(path)) must not be empty")
                : Violation(kind: .outOfRange, path: path,
                            message: "\(describe(path)) must be at least \(minimum) characters long")
        }
        if let maximum = schema["maxLength"]?.intValue, length > maximum {
            return Violation(kind: .outOfRange, path: path,
                             message: "\(describe(path)) must be at most \(maximum) characters long, got \(length)")
        }
        return nil
    }

    private static func checkNumber(_ value: JSONValue, _ schema: JSONValue, _ path: String) -> Violation? {
        let number: Double
        switch value {
        case .int(let int): number = Double(int)
        case .double(let double): number = double
        default: return nil
        }
        if let minimum = numeric(schema["minimum"]), number < minimum {
            return Violation(kind: .outOfRange, path: path,
                             message: "\(describe(path)) must be at least \(format(minimum)), got \(value.canonicalJSON)")
        }
        if let maximum = numeric(schema["maximum"]), number > maximum {
            return Violation(kind: .outOfRange, path: path,
                             message: "\(describe(path)) must be at most \(format(maximum)), got \(value.canonicalJSON)")
        }
        return nil
    }

    private static func numeric(_ value: JSONValue?) -> Double? {
        switch value {
        case .int(let int)?: return Double(int)
        case .double(let double)?: return double
        default: return nil
        }
    }

    private static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }
}
