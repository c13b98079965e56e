import AirlockCore
import AirlockModels
import Foundation

/// One entry of `remote_mcp_servers:`: a server the harness reaches over Streamable HTTP.
/// Header values are templates whose `${NAME}` parts come from the harness's environment
/// when the run starts; the file itself never holds a credential.
public struct RemoteMCPServerSettings: Sendable, Hashable {
    public var name: String
    public var url: String
    /// Header name → template, e.g. `Authorization: "Bearer ${GITHUB_TOKEN}"`.
    public var headers: [String: String]
    public var callTimeout: Duration
    public var allow: [String]
    public var deny: [String]

    public init(name: String, url: String, headers: [String: String] = [:], callTimeout: Duration = .seconds(60),
                allow: [String] = ["*"], deny: [String] = []) {
        self.name = name
        self.url = url
        self.headers = headers
        self.callTimeout = callTimeout
        self.allow = allow
        self.deny = deny
    }

    /// The variables the headers read (for redaction, and for messages: never the values).
    public var variables: [String] {
        headers.values.flatMap { Self.references(in: $0) }.sorted()
    }

    /// The headers with their variables filled in; a missing variable is named, not guessed.
    public func resolvedHeaders(_ environment: [String: String]) throws(MCPFailure) -> [(String, String)] {
        var resolved: [(String, String)] = []
        for (name, template) in headers.sorted(by: { $0.key < $1.key }) {
            var value = template
            for variable in Self.references(in: template) {
                guard let secret = environment[variable], !secret.isEmpty else {
                    throw MCPFailure(.ended, "remote MCP server \(self.name): the header \(name) needs $\(variable), which is not set")
                }
                value = value.replacingOccurrences(of: "${\(variable)}", with: secret)
            }
            resolved.append((name, value))
        }
        return resolved
    }

    static func references(in template: String) -> [String] {
        var names: [String] = []
        var rest = Substring(template)
        while let start = rest.range(of: "${") {
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else { break }
            names.append(String(rest[start.upperBound..<end]))
            rest = rest[rest.index(after: end)...]
        }
        return names
    }

    func offers(_ tool: String) -> Bool {
        MCPServerSettings(name: name, command: "-", allow: allow, deny: deny).offers(tool)
    }

    static let known: Set<String> = ["url", "headers", "call_timeout", "tools"]

    public static func parse(_ node: ConfigNode, file: String) throws(ConfigError) -> [RemoteMCPServerSettings] {
        guard case .map(let entries, _) = node else {
            throw ConfigError(file: file, line: node.line, key: "remote_mcp_servers", message: "expected a mapping of server names to settings")
        }
        var servers: [RemoteMCPServerSettings] = []
        for (name, server) in entries {
            let label = "remote_mcp_servers." + name
            func fail(_ key: String?, _ message: String, _ line: Int? = nil) -> ConfigError {
                ConfigError(file: file, line: line ?? server.line, key: key.map { label + "." + $0 } ?? label, message: message)
            }
            guard name.range(of: "^[A-Za-z0-9_-]{1,32}$", options: .regularExpression) != nil, !name.contains("__") else {
                throw fail(nil, "a server name is 1 to 32 of A-Z a-z 0-9 _ - (no double underscore)")
            }
            guard case .map(let fields, _) = server else { throw fail(nil, "expected a mapping with url and headers") }
            for field in fields where !known.contains(field.key) {
                throw fail(field.key, "unknown key; a remote server takes \(known.sorted().joined(separator: ", "))", field.value.line)
            }
            guard let url = server["url"]?.json.stringValue, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw fail("url", "expected an http:// or https:// URL")
            }
            var settings = RemoteMCPServerSettings(name: name, url: url)
            if let headers = server["headers"] {
                guard case .object(let pairs) = headers.json else { throw fail("headers", "expected a mapping Header: template", headers.line) }
                for (header, template) in pairs {
                    guard let text = template.stringValue else { throw fail("headers." + header, "expected a string", headers.line) }
                    // A literal credential in a file that may be committed is refused.
                    if references(in: text).isEmpty && header.lowercased() == "authorization" {
                        throw fail("headers." + header, "write the value as a variable, e.g. \"Bearer ${TOKEN}\": credentials do not belong in the file", headers.line)
                    }
                    settings.headers[header] = text
                }
            }
            if let timeout = server["call_timeout"] {
                guard let seconds = MCPServerSettings.seconds(timeout.json), seconds > 0 else {
                    throw fail("call_timeout", "expected seconds or a duration like 30s, 2m", timeout.line)
                }
                settings.callTimeout = .seconds(seconds)
            }
            if let tools = server["tools"] {
                guard case .object(let lists) = tools.json, Set(lists.keys).isSubset(of: ["allow", "deny"]) else {
                    throw fail("tools", "expected {allow: [globs], deny: [globs]}", tools.line)
                }
                settings.allow = (lists["allow"]?.arrayItems ?? [.string("*")]).compactMap(\.stringValue)
                settings.deny = (lists["deny"]?.arrayItems ?? []).compactMap(\.stringValue)
            }
            servers.append(settings)
        }
        return servers
    }
}

extension JSONValue {
    var arrayItems: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}
