import AirlockCore
import AirlockModels
import Foundation
import Glibc

/// One entry of `mcp_servers:`: a server started inside the sandbox.
public struct MCPServerSettings: Sendable, Hashable {
    public var name: String
    public var command: String
    public var args: [String]
    /// Added to the sandbox's environment (values written in the file; nothing comes
    /// from the harness's environment).
    public var env: [String: String]
    /// Relative to /workspace.
    public var cwd: String?
    public var startupTimeout: Duration
    public var callTimeout: Duration
    /// Globs on the server's own tool names; deny wins.
    public var allow: [String]
    public var deny: [String]

    public init(name: String, command: String, args: [String] = [], env: [String: String] = [:], cwd: String? = nil,
                startupTimeout: Duration = .seconds(30), callTimeout: Duration = .seconds(60),
                allow: [String] = ["*"], deny: [String] = []) {
        self.name = name
        self.command = command
        self.args = args
        self.env = env
        self.cwd = cwd
        self.startupTimeout = startupTimeout
        self.callTimeout = callTimeout
        self.allow = allow
        self.deny = deny
    }

    var argv: [String] {
        let program = [command] + args
        guard !env.isEmpty else { return program }
        return ["/usr/bin/env"] + env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + program
    }

    public func offers(_ tool: String) -> Bool {
        allow.contains { fnmatch($0, tool, 0) == 0 } && !deny.contains { fnmatch($0, tool, 0) == 0 }
    }

    static let known: Set<String> = ["command", "args", "env", "cwd", "startup_timeout", "call_timeout", "tools"]

    /// Reads `mcp_servers:`; every mistake names the file, line and key.
    public static func parse(_ node: ConfigNode, file: String) throws(ConfigError) -> [MCPServerSettings] {
        guard case .map(let entries, _) = node else {
            throw ConfigError(file: file, line: node.line, key: "mcp_servers", message: "expected a mapping of server names to settings")
        }
        var servers: [MCPServerSettings] = []
        for (name, server) in entries {
            let label = "mcp_servers." + name
            func fail(_ key: String?, _ message: String, _ line: Int? = nil) -> ConfigError {
                ConfigError(file: file, line: line ?? server.line, key: key.map { label + "." + $0 } ?? label, message: message)
            }
            guard name.range(of: "^[A-Za-z0-9_-]{1,32}$", options: .regularExpression) != nil, !name.contains("__") else {
                throw fail(nil, "a server name is 1 to 32 of A-Z a-z 0-9 _ - (no double underscore)")
            }
            guard case .map(let fields, _) = server else { throw fail(nil, "expected a mapping with command, args, …") }
            for field in fields where !known.contains(field.key) {
                throw fail(field.key, "unknown key; a server takes \(known.sorted().joined(separator: ", "))", field.value.line)
            }
            guard let command = server["command"]?.json.stringValue, !command.isEmpty else {
                throw fail("command", "every server needs a command (the program started in the sandbox)")
            }
            var settings = MCPServerSettings(name: name, command: command)
            if let args = server["args"] {
                guard case .array(let items) = args.json, items.allSatisfy({ $0.stringValue != nil }) else {
                    throw fail("args", "expected a list of strings", args.line)
                }
                settings.args = items.compactMap(\.stringValue)
            }
            if let env = server["env"] {
                guard case .object(let pairs) = env.json else { throw fail("env", "expected a mapping NAME: value", env.line) }
                for (key, value) in pairs {
                    guard key.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                        throw fail("env." + key, "not a variable name", env.line)
                    }
                    switch value {
                    case .string(let text): settings.env[key] = text
                    case .int(let number): settings.env[key] = String(number)
                    case .bool(let flag): settings.env[key] = flag ? "1" : "0"
                    default: throw fail("env." + key, "expected a string", env.line)
                    }
                }
            }
            if let cwd = server["cwd"] {
                guard let text = cwd.json.stringValue, !text.isEmpty else { throw fail("cwd", "expected a path", cwd.line) }
                settings.cwd = text
            }
            for (key, keyPath) in [("startup_timeout", \MCPServerSettings.startupTimeout), ("call_timeout", \MCPServerSettings.callTimeout)] {
                guard let value = server[key] else { continue }
                guard let seconds = Self.seconds(value.json), seconds > 0 else {
                    throw fail(key, "expected seconds or a duration like 30s, 2m", value.line)
                }
                settings[keyPath: keyPath] = .seconds(seconds)
            }
            if let tools = server["tools"] {
                guard case .object(let lists) = tools.json, Set(lists.keys).isSubset(of: ["allow", "deny"]) else {
                    throw fail("tools", "expected {allow: [globs], deny: [globs]}", tools.line)
                }
                for (key, list) in lists {
                    guard case .array(let items) = list, items.allSatisfy({ $0.stringValue != nil }) else {
                        throw fail("tools." + key, "expected a list of globs", tools.line)
                    }
                    if key == "allow" { settings.allow = items.compactMap(\.stringValue) } else { settings.deny = items.compactMap(\.stringValue) }
                }
            }
            servers.append(settings)
        }
        return servers
    }

    static func seconds(_ value: JSONValue) -> Int? { DeclaredTool.seconds(value) }
}
