import Foundation
import AirlockModels

/// JSON equality as JSON Schema means it: `1` equals `1.0`, `false` does not equal `0`,
/// objects compare by members regardless of order.
extension JSONValue {
    func jsonEquals(_ other: JSONValue) -> Bool {
        switch (self, other) {
        case (.int, .int), (.int, .double), (.double, .int), (.double, .double):
            if case .int(let lhs) = self, case .int(let rhs) = other { return lhs == rhs }
            return numberValue == other.numberValue
        case (.array(let lhs), .array(let rhs)):
            return lhs.count == rhs.count && zip(lhs, rhs).allSatisfy { $0.jsonEquals($1) }
        case (.object(let lhs), .object(let rhs)):
            return lhs.count == rhs.count && lhs.allSatisfy { key, value in
                rhs[key].map { value.jsonEquals($0) } ?? false
            }
        case (.string(let lhs), .string(let rhs)):
            // Code point by code point: Swift's String equality would merge canonical
            // equivalents, which JSON does not.
            return lhs.unicodeScalars.elementsEqual(rhs.unicodeScalars)
        default: return self == other
        }
    }

    var numberValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The JSON Schema type name; a number with no fraction counts as an integer.
    var schemaTypeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double(let number): return number.rounded() == number ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    func hasSchemaType(_ type: String) -> Bool {
        let actual = schemaTypeName
        return actual == type || (type == "number" && actual == "integer")
    }

    var objectValue: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

enum JSONPointer {
    static func escape(_ token: String) -> String {
        // Every property of every validated tool call passes here: skip Foundation's
        // replace when there is nothing to replace (nearly always).
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func unescape(_ token: Substring) -> String {
        token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }

    static func append(_ path: String, _ token: String) -> String { path + "/" + escape(token) }
    static func append(_ path: String, _ index: Int) -> String { path + "/" + String(index) }
}

extension JSONValue {
    /// Compact JSON with sorted keys, for messages.
    var canonicalText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "?" }
        return String(decoding: data, as: UTF8.self)
    }
}
