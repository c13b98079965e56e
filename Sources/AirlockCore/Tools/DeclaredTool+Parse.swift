import AirlockModels
import AirlockSchema
import Foundation

extension DeclaredTool {
    /// Reads `tools:` from a config file. Every mistake names the file, line and key.
    public static func parse(_ node: ConfigNode, file: String) throws(ConfigError) -> [DeclaredTool] {
        guard case .list(let items, _) = node else {
            throw ConfigError(file: file, line: node.line, key: "tools", message: "expected a list of tools")
        }
        var tools: [DeclaredTool] = []
        for item in items {
            let tool = try parseOne(item, file: file)
            if tools.contains(where: { $0.name == tool.name }) {
                throw ConfigError(file: file, line: item.line, key: "tools.\(tool.name)", message: "a tool of this name is declared twice")
            }
            tools.append(tool)
        }
        return tools
    }

    static let known: Set<String> = ["name", "description", "input_schema", "argv", "workdir", "env", "timeout", "read_only"]

    private static func parseOne(_ node: ConfigNode, file: String) throws(ConfigError) -> DeclaredTool {
        guard case .map(let entries, _) = node else {
            throw ConfigError(file: file, line: node.line, key: "tools", message: "each tool must be a mapping with name, description, input_schema and argv")
        }
        let name = node["name"]?.json.stringValue ?? ""
        let label = "tools." + (name.isEmpty ? "?" : name)
        func fail(_ key: String?, _ message: String, _ line: Int? = nil) -> ConfigError {
            ConfigError(file: file, line: line ?? node.line, key: key.map { label + "." + $0 } ?? label, message: message)
        }
        for entry in entries where !known.contains(entry.key) {
            throw fail(entry.key, "unknown key; a tool takes \(known.sorted().joined(separator: ", "))", entry.value.line)
        }
        guard name.range(of: "^[A-Za-z][A-Za-z0-9_-]{0,63}$", options: .regularExpression) != nil else {
            throw fail("name", "a tool name is 1 to 64 of A-Z a-z 0-9 _ - and starts with a letter", node["name"]?.line)
        }
        if BuiltinTools.spec(named: name) != nil || name.hasPrefix("mcp__") {
            throw fail("name", "\(name) is reserved (built-in tools and mcp__ names)", node["name"]?.line)
        }
        guard let description = node["description"]?.json.stringValue, !description.isEmpty else {
            throw fail("description", "every tool needs a description (the model reads it)", node["description"]?.line)
        }
        let inputSchema = node["input_schema"]?.json ?? .object(["type": .string("object"), "properties": .object([:]),
                                                                  "additionalProperties": .bool(false)])
        guard inputSchema["type"]?.stringValue == "object" else {
            throw fail("input_schema", "the input schema must have type: object", node["input_schema"]?.line)
        }
        let schema: JSONSchema
        do { schema = try JSONSchema(inputSchema) } catch {
            throw fail("input_schema", "not a usable JSON Schema: \(error)", node["input_schema"]?.line)
        }
        let argv = try parseArgv(node["argv"], inputSchema, fail)
        var env: [String: String] = [:]
        if let envNode = node["env"] {
            guard case .map(let pairs, _) = envNode else { throw fail("env", "expected a mapping NAME: value", envNode.line) }
            for (key, value) in pairs {
                guard key.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil,
                      let text = DeclaredTool.argument(value.json) else {
                    throw fail("env." + key, "expected NAME: value with a shell-style name and a scalar value", value.line)
                }
                env[key] = text
            }
        }
        var timeout: Int?
        if let timeoutNode = node["timeout"] {
            guard let seconds = Self.seconds(timeoutNode.json), seconds >= 1 else {
                throw fail("timeout", "expected seconds or a duration like 30s, 5m", timeoutNode.line)
            }
            timeout = seconds
        }
        var readOnly = false
        if let flag = node["read_only"] {
            guard case .bool(let value) = flag.json else { throw fail("read_only", "expected true or false", flag.line) }
            readOnly = value
        }
        var workdir: String?
        if let dir = node["workdir"] {
            guard let text = dir.json.stringValue, !text.isEmpty else { throw fail("workdir", "expected a path", dir.line) }
            workdir = text
        }
        return DeclaredTool(name: name, description: description, inputSchema: inputSchema, schema: schema,
                            argv: argv, workdir: workdir, env: env, timeoutSeconds: timeout, readOnly: readOnly)
    }

    private static func parseArgv(_ node: ConfigNode?, _ inputSchema: JSONValue,
                                  _ fail: (String?, String, Int?) -> ConfigError) throws(ConfigError) -> [Part] {
        guard let node, case .list(let items, _) = node, !items.isEmpty else {
            throw fail("argv", "expected a non-empty list, e.g. [\"pytest\", \"-q\", \"--\", \"{path}\"]", node?.line)
        }
        let properties = inputSchema["properties"]?.objectMembers ?? [:]
        var parts: [Part] = []
        for (index, item) in items.enumerated() {
            guard case .scalar(.string(let text), _) = item, !text.isEmpty else {
                throw fail("argv", "every argument must be a non-empty string", item.line)
            }
            if text.hasPrefix("{") && text.hasSuffix("}") && text.count > 2 {
                let key = String(text.dropFirst().dropLast())
                guard index > 0 else { throw fail("argv", "the program itself cannot be a placeholder", item.line) }
                guard properties[key] != nil else {
                    throw fail("argv", "the placeholder {\(key)} is not a property of input_schema", item.line)
                }
                parts.append(.placeholder(key))
            } else if text.contains("{") || text.contains("}") {
                throw fail("argv", "'\(text)': a placeholder must be a whole argument like \"{path}\" (no splicing into text)", item.line)
            } else {
                parts.append(.literal(text))
            }
        }
        return parts
    }

    /// A config duration in whole seconds: `30`, `"30"`, `"30s"`, `"5m"`, `"1h"` (shared by
    /// every config key that takes a timeout).
    public static func seconds(_ value: JSONValue) -> Int? {
        if case .int(let number) = value { return number }
        guard case .string(let text) = value, let unit = text.last, let number = Int(text.dropLast()) else { return nil }
        switch unit {
        case "s": return number
        case "m": return number * 60
        case "h": return number * 3600
        default: return Int(text)
        }
    }
}
