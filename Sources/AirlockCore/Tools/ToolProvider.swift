import AirlockModels
import AirlockSandbox
import AirlockSchema

/// A tool that comes from outside the harness's own set (an MCP server's), as the model
/// sees it. Its schema is compiled here: a call that does not fit never leaves the harness.
public struct ProvidedTool: Sendable {
    public var spec: ToolSpec
    public var schema: JSONSchema
    /// Where it comes from, for the ledger and the approver (`server`, `tool`,
    /// `annotations`). Annotations are shown, never trusted to relax a rule.
    public var origin: [String: JSONValue]

    public init(spec: ToolSpec, schema: JSONSchema, origin: [String: JSONValue]) {
        self.spec = spec
        self.schema = schema
        self.origin = origin
    }
}

/// What listing gave: the tools, and one message per server or tool that could not be
/// offered (a server that did not start, a schema that does not compile).
public struct ProvidedListing: Sendable {
    public var tools: [ProvidedTool]
    public var problems: [String]
    /// Per-server facts for the ledger (revision, tool count, start-up time).
    public var servers: [JSONValue]

    public init(tools: [ProvidedTool] = [], problems: [String] = [], servers: [JSONValue] = []) {
        self.tools = tools
        self.problems = problems
        self.servers = servers
    }
}

/// The interface the loop uses for tools from servers; `AirlockMCP` implements it and
/// only the `airlock` executable wires the two together.
public protocol ToolProvider: Sendable {
    /// Starts what is needed in `sandbox` and lists the tools.
    func list(in sandbox: any Sandbox) async -> ProvidedListing
    /// True when a server said its tool list changed since the last `list`.
    func toolsChanged() async -> Bool
    /// Calls a tool; every failure (dead, hung, garbage) is an error outcome, not a throw.
    func call(_ tool: ProvidedTool, arguments: JSONValue, in sandbox: any Sandbox, timeout: Duration) async -> ToolOutcome
    func shutdown() async
}
