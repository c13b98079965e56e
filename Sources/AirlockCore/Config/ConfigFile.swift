import AirlockModels
import Crypto
import Foundation
import Yams

/// One config file, read and checked: every key known, every value of the right shape,
/// relative paths made absolute against the file's directory.
public struct ConfigFile: Sendable {
    public struct Entry: Sendable {
        public var key: ConfigKey
        public var node: ConfigNode
        /// The value with paths resolved (what `run` uses and `config show` prints).
        public var value: JSONValue
        public var line: Int { node.line }
    }

    public var path: String
    public var sha256: String
    public var entries: [Entry]

    public subscript(key: String) -> Entry? { entries.first { $0.key.name == key } }

    public static func load(_ path: String) throws(ConfigError) -> ConfigFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ConfigError(file: path, line: 0, key: nil, message: "cannot read the file: \(error.localizedDescription)")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws(ConfigError) -> ConfigFile {
        let digest = SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigError(file: path, line: Self.line(of: error), key: nil, message: "not valid YAML: \(error)")
        }
        guard let root else { return ConfigFile(path: path, sha256: digest, entries: []) }
        guard case .map(let members, _) = try ConfigNode.from(root, file: path) else {
            throw ConfigError(file: path, line: root.mark?.line ?? 1, key: nil,
                              message: "the file must be a mapping of keys (model: ..., max_steps: ...)")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        var entries: [Entry] = []
        for (name, node) in members {
            guard let key = ConfigKey.named(name) else {
                let near = ConfigKey.all.map(\.name).filter { $0.hasPrefix(String(name.prefix(3))) }
                throw ConfigError(file: path, line: node.line, key: name, message: "unknown key"
                                  + (near.isEmpty ? "; see `airlock config show` for the keys" : "; did you mean \(near.joined(separator: " or "))?"))
            }
            let value = try check(node, key, path: path, directory: directory)
            entries.append(Entry(key: key, node: node, value: value))
        }
        return ConfigFile(path: path, sha256: digest, entries: entries)
    }

    private static func check(_ node: ConfigNode, _ key: ConfigKey, path: String, directory: URL) throws(ConfigError) -> JSONValue {
        func fail(_ message: String, line: Int? = nil) -> ConfigError {
            ConfigError(file: path, line: line ?? node.line, key: key.name, message: message)
        }
        func expected(_ what: String) -> ConfigError { fail("expected \(what), got \(node.typeName)") }
        func absolute(_ text: String) -> String {
            guard key.isPath, !text.hasPrefix("/") else { return text }
            let expanded = (text as NSString).expandingTildeInPath
            return expanded.hasPrefix("/") ? expanded : directory.appendingPathComponent(text).standardizedFileURL.path
        }
        let value = node.json
        switch key.kind {
        case .string:
            guard case .string(let text) = value, !text.isEmpty else { throw expected("a non-empty string") }
            if let choices = key.choices, !choices.contains(text) {
                throw fail("'\(text)' is not one of \(choices.joined(separator: ", "))")
            }
            return .string(absolute(text))
        case .image:
            guard case .string(let text) = value, !text.isEmpty else { throw expected("a non-empty string") }
            guard let prefix = ConfigKey.imagePathPrefixes.first(where: text.hasPrefix) else { return value }
            let rest = String(text.dropFirst(prefix.count))
            guard !rest.isEmpty else { throw fail("'\(text)' names no path after \(prefix)") }
            let expanded = (rest as NSString).expandingTildeInPath
            return .string(prefix + (expanded.hasPrefix("/") ? expanded : directory.appendingPathComponent(rest).standardizedFileURL.path))
        case .integer:
            guard case .int(let number) = value else { throw expected("an integer") }
            guard number >= 1 else { throw fail("must be at least 1, got \(number)") }
            return value
        case .number:
            guard let number = value.numberValue else { throw expected("a number") }
            guard number > 0, number.isFinite else { throw fail("must be positive, got \(number)") }
            return value
        case .boolean:
            guard case .bool = value else { throw expected("true or false") }
            return value
        case .duration, .bytes:
            switch value {
            case .string(let text) where !text.isEmpty: return value
            case .int(let number) where number > 0: return .string(String(number) + (key.kind == .duration ? "s" : ""))
            default: throw expected(key.kind == .duration ? "a duration like 30s, 5m or 1h" : "a size like 512M or 2G")
            }
        case .stringList:
            guard case .list(let items, _) = node else { throw expected("a list of strings") }
            for item in items {
                guard case .scalar(.string(let text), _) = item, !text.isEmpty else {
                    throw fail("every item must be a non-empty string, got \(item.typeName)", line: item.line)
                }
            }
            return value
        case .policy:
            switch node {
            case .scalar(.string(let text), _) where !text.isEmpty: return .string(absolute(text))
            case .map: return value
            default: throw expected("a policy file path or an inline policy mapping")
            }
        case .tools:
            guard case .list = node else { throw expected("a list of tools") }
            return value
        case .servers:
            guard case .map = node else { throw expected("a mapping of server names to settings") }
            return value
        }
    }

    private static func line(of error: Error) -> Int {
        if let yaml = error as? YamlError, case .parser(_, _, let mark, _) = yaml { return mark.line }
        if let yaml = error as? YamlError, case .scanner(_, _, let mark, _) = yaml { return mark.line }
        return 1
    }
}

extension JSONValue {
    var numberValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }
}
