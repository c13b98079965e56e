import AirlockModels
import Foundation
import Yams

/// A batch file: the tasks of `airlock batch FILE`, each with its own overrides of the run
/// options. JSON Lines (one object a line) or YAML (a list of mappings, or a mapping with
/// `tasks:` and optional `defaults:` applied to every task). Everything is checked before
/// anything starts: a bad line is named by its number, an unknown key by its name, a
/// missing workspace or template by its path.
public struct BatchFile: Sendable {
    /// One task: where it is in the file and what it overrides.
    public struct Entry: Sendable, Hashable {
        /// 1-based line of the task in the file.
        public var line: Int
        public var task: String
        /// A label for the summary (default: the line).
        public var name: String?
        /// An existing directory used as the workspace, absolute.
        public var workspace: String?
        /// A directory copied afresh for this task's workspace, absolute.
        public var template: String?
        /// `airlock run` options this task sets, as `--flag value` pairs in file order.
        public var options: [(flag: String, value: String)]

        public static func == (lhs: Entry, rhs: Entry) -> Bool {
            lhs.line == rhs.line && lhs.task == rhs.task && lhs.name == rhs.name && lhs.workspace == rhs.workspace
                && lhs.template == rhs.template && lhs.options.map { "\($0.flag)=\($0.value)" } == rhs.options.map { "\($0.flag)=\($0.value)" }
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(line) }
    }

    /// A key of a task, and the `airlock run` option it sets.
    enum Key: String, CaseIterable {
        case task, name, workspace, template, model, image, sandbox, policy, timeout
        case maxSteps = "max_steps", maxTokens = "max_tokens", maxCost = "max_cost", callTimeout = "call_timeout"

        var flag: String? {
            switch self {
            case .task, .name, .workspace, .template: nil
            case .maxSteps: "--max-steps"
            case .maxTokens: "--max-tokens"
            case .maxCost: "--max-cost"
            case .callTimeout: "--call-timeout"
            default: "--" + rawValue
            }
        }
    }

    public var path: String
    public var tasks: [Entry]

    /// Reads and checks `path`.
    public static func load(_ path: String) throws(BatchFileError) -> BatchFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw BatchFileError(file: path, line: 0, message: "cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    public static func parse(_ text: String, path: String) throws(BatchFileError) -> BatchFile {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        let lower = path.lowercased()
        let firstCharacter = text.first { !$0.isWhitespace }
        let isJSONLines = lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson")
            || (!lower.hasSuffix(".yaml") && !lower.hasSuffix(".yml") && firstCharacter == "{")
        let raw = isJSONLines ? try jsonLines(text, path: path) : try yaml(text, path: path)
        guard !raw.isEmpty else { throw BatchFileError(file: path, line: 0, message: "the file holds no task") }
        var tasks: [Entry] = []
        for (line, object) in raw {
            tasks.append(try task(object, line: line, path: path, directory: directory))
        }
        return BatchFile(path: path, tasks: tasks)
    }

    private static func jsonLines(_ text: String, path: String) throws(BatchFileError) -> [(Int, [String: JSONValue])] {
        var objects: [(Int, [String: JSONValue])] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("//") { continue }
            let value: JSONValue
            do { value = try JSONValue(parsing: trimmed) } catch {
                throw BatchFileError(file: path, line: index + 1, message: "not valid JSON: \(error)")
            }
            guard case .object(let members) = value else {
                throw BatchFileError(file: path, line: index + 1, message: "expected a JSON object ({\"task\": ...}), got \(value.canonicalJSON.prefix(40))")
            }
            objects.append((index + 1, members))
        }
        return objects
    }

    private static func yaml(_ text: String, path: String) throws(BatchFileError) -> [(Int, [String: JSONValue])] {
        let root: ConfigNode
        do {
            guard let node = try Yams.compose(yaml: text) else { return [] }
            root = try ConfigNode.from(node, file: path)
        } catch let error as ConfigError {
            throw BatchFileError(file: path, line: error.line, message: error.message)
        } catch {
            throw BatchFileError(file: path, line: 0, message: "not valid YAML: \(error)")
        }
        var defaults: [String: JSONValue] = [:]
        let items: [ConfigNode]
        switch root {
        case .list(let list, _):
            items = list
        case .map(let members, let line):
            for member in members where !["tasks", "defaults"].contains(member.key) {
                throw BatchFileError(file: path, line: member.value.line, message: "unknown key '\(member.key)' at the top; expected tasks: and defaults:")
            }
            guard case .list(let list, _)? = root["tasks"] else {
                throw BatchFileError(file: path, line: line, message: "expected tasks: (a list of tasks)")
            }
            if let given = root["defaults"] {
                guard case .object(let members) = given.json else {
                    throw BatchFileError(file: path, line: given.line, message: "defaults: must be a mapping of task keys")
                }
                if members["task"] != nil { throw BatchFileError(file: path, line: given.line, message: "defaults: cannot set task") }
                defaults = members
            }
            items = list
        case .scalar(_, let line):
            throw BatchFileError(file: path, line: line, message: "expected a list of tasks, or tasks: and defaults:")
        }
        var objects: [(Int, [String: JSONValue])] = []
        for item in items {
            guard case .object(let members) = item.json else {
                throw BatchFileError(file: path, line: item.line, message: "a task must be a mapping (task: ..., model: ...), got \(item.typeName)")
            }
            objects.append((item.line, defaults.merging(members) { $1 }))
        }
        return objects
    }

    private static func task(_ object: [String: JSONValue], line: Int, path: String, directory: URL) throws(BatchFileError) -> Entry {
        func fail(_ message: String) -> BatchFileError { BatchFileError(file: path, line: line, message: message) }
        for name in object.keys.sorted() where Key(rawValue: name) == nil {
            throw fail("unknown key '\(name)'; a task takes: \(Key.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard case .string(let text)? = object["task"], !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw fail("'task' (the task's text, a non-empty string) is missing")
        }
        func absolute(_ given: String) -> String {
            let expanded = (given as NSString).expandingTildeInPath
            return expanded.hasPrefix("/") ? expanded : directory.appendingPathComponent(expanded).standardizedFileURL.path
        }
        func directoryValue(_ key: Key) throws(BatchFileError) -> String? {
            guard let value = object[key.rawValue] else { return nil }
            guard case .string(let given) = value, !given.isEmpty else { throw fail("'\(key.rawValue)' must be a path") }
            let resolved = absolute(given)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw fail("'\(key.rawValue)': \(resolved) is not a directory")
            }
            return resolved
        }
        var result = Entry(line: line, task: text, name: nil, workspace: try directoryValue(.workspace),
                          template: try directoryValue(.template), options: [])
        if result.workspace != nil, result.template != nil {
            throw fail("give 'workspace' (a directory to use) or 'template' (a directory copied for the task), not both")
        }
        if let name = object["name"] {
            guard case .string(let label) = name else { throw fail("'name' must be a string") }
            result.name = label
        }
        for key in Key.allCases {
            guard let flag = key.flag, let value = object[key.rawValue] else { continue }
            let text: String
            switch (key, value) {
            case (.maxSteps, .int(let number)), (.maxTokens, .int(let number)):
                guard number > 0 else { throw fail("'\(key.rawValue)' must be a positive integer") }
                text = String(number)
            case (.maxSteps, _), (.maxTokens, _):
                throw fail("'\(key.rawValue)' must be a positive integer")
            case (.maxCost, .int(let number)):
                text = String(number)
            case (.maxCost, .double(let number)):
                text = String(number)
            case (.maxCost, _):
                throw fail("'max_cost' must be a number (USD)")
            case (.model, .string(let model)) where model.hasPrefix("script:"):
                text = "script:" + absolute(String(model.dropFirst("script:".count)))
            case (.policy, .string(let file)):
                text = absolute(file)
            case (_, .string(let string)) where !string.isEmpty:
                text = string
            case (_, .int(let number)) where key == .timeout || key == .callTimeout:
                text = "\(number)s"
            default:
                throw fail("'\(key.rawValue)' must be a non-empty string")
            }
            result.options.append((flag, text))
        }
        return result
    }
}

/// A batch file's fault, with where it is.
public struct BatchFileError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}
