import AirlockModels
import Yams

/// A YAML value from a config file that remembers its line, so every error can say where.
public indirect enum ConfigNode: Sendable, Hashable {
    case scalar(JSONValue, line: Int)
    case list([ConfigNode], line: Int)
    /// Keys in file order.
    case map([(key: String, value: ConfigNode)], line: Int)

    public var line: Int {
        switch self {
        case .scalar(_, let line), .list(_, let line), .map(_, let line): return line
        }
    }

    /// The plain JSON value (for schemas, inline policies and display).
    public var json: JSONValue {
        switch self {
        case .scalar(let value, _): return value
        case .list(let items, _): return .array(items.map(\.json))
        case .map(let entries, _):
            return .object(Dictionary(entries.map { ($0.key, $0.value.json) }, uniquingKeysWith: { $1 }))
        }
    }

    public var typeName: String {
        switch self {
        case .scalar(let value, _):
            switch value {
            case .null: return "null"
            case .bool: return "a boolean"
            case .int: return "an integer"
            case .double: return "a number"
            case .string: return "a string"
            default: return "a value"
            }
        case .list: return "a list"
        case .map: return "a mapping"
        }
    }

    public subscript(key: String) -> ConfigNode? {
        if case .map(let entries, _) = self { return entries.first { $0.key == key }?.value }
        return nil
    }

    public static func == (lhs: ConfigNode, rhs: ConfigNode) -> Bool { lhs.json == rhs.json && lhs.line == rhs.line }
    public func hash(into hasher: inout Hasher) { hasher.combine(json) }

    /// Converts Yams' tree; duplicate keys are refused (YAML allows them, silently).
    public static func from(_ node: Node, file: String) throws(ConfigError) -> ConfigNode {
        let line = node.mark?.line ?? 0
        switch node {
        case .scalar(let scalar):
            return .scalar(scalarValue(node, scalar), line: line)
        case .sequence(let sequence):
            var items: [ConfigNode] = []
            for item in sequence { items.append(try from(item, file: file)) }
            return .list(items, line: line)
        case .mapping(let mapping):
            var entries: [(key: String, value: ConfigNode)] = []
            for (key, value) in mapping {
                guard let name = key.string else {
                    throw ConfigError(file: file, line: key.mark?.line ?? line, key: nil, message: "a key must be a string")
                }
                if entries.contains(where: { $0.key == name }) {
                    throw ConfigError(file: file, line: key.mark?.line ?? line, key: name, message: "the key appears twice")
                }
                entries.append((name, try from(value, file: file)))
            }
            return .map(entries, line: line)
        }
    }

    private static func scalarValue(_ node: Node, _ scalar: Node.Scalar) -> JSONValue {
        // Quoted scalars are strings whatever they look like ("8", "true").
        if scalar.style == .singleQuoted || scalar.style == .doubleQuoted { return .string(scalar.string) }
        switch node.tag.description {
        case Tag.Name.null.rawValue: return .null
        case Tag.Name.bool.rawValue: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
        case Tag.Name.int.rawValue: return node.int.map(JSONValue.int) ?? .string(scalar.string)
        case Tag.Name.float.rawValue: return node.float.map(JSONValue.double) ?? .string(scalar.string)
        default: return .string(scalar.string)
        }
    }
}
