/// Every key `airlock.yaml` takes: the `run` flag it stands for, the shape of its value,
/// and whether a project file setting it widens what the run may do (and so needs trust).
public struct ConfigKey: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case string, integer, number, boolean, duration, bytes, stringList
        /// A file path or an inline policy mapping.
        case policy
        /// A list of declarative tools.
        case tools
        /// A mapping of server name to settings.
        case servers
        /// An image reference: `oci:DIR[:TAG]`, `docker-archive:FILE`, `dir:PATH` (paths
        /// relative to the file) or a store name.
        case image
    }

    public var name: String
    public var kind: Kind
    /// The `run` flag, for messages and `config show`.
    public var flag: String?
    /// Set by a project file, it gives the sandbox or the harness more reach.
    public var widens: Bool
    /// Relative paths resolve against the config file's directory.
    public var isPath: Bool
    public var choices: [String]?

    init(_ name: String, _ kind: Kind, flag: String? = nil, hasFlag: Bool = true, widens: Bool = false,
         isPath: Bool = false, choices: [String]? = nil) {
        self.name = name
        self.kind = kind
        self.flag = hasFlag ? flag ?? "--" + name.replacingOccurrences(of: "_", with: "-") : nil
        self.widens = widens
        self.isPath = isPath
        self.choices = choices
    }

    public static let all: [ConfigKey] = [
        ConfigKey("model", .string),
        // A project could send the user's API key to a server of its choosing.
        ConfigKey("base_url", .string, widens: true),
        ConfigKey("api_key_env", .string, widens: true),
        ConfigKey("workspace", .string, widens: true, isPath: true),
        ConfigKey("policy", .policy, isPath: true),
        ConfigKey("approver", .string, choices: ["tty", "web", "deny"]),
        // `landlock` (no namespaces) is weaker than the namespaced tiers: it widens.
        ConfigKey("sandbox", .string, choices: ["auto", "bwrap", "oci", "gvisor", "landlock", "kubernetes"]),
        // The kubernetes tier: which cluster, namespace and runtime get the workspace, and
        // which guest runs there, are the user's to choose, not a project's.
        ConfigKey("kubeconfig", .string, widens: true, isPath: true),
        ConfigKey("kube_context", .string, widens: true),
        ConfigKey("namespace", .string, widens: true),
        ConfigKey("runtime_class", .string, widens: true),
        ConfigKey("guest_image", .string, widens: true),
        ConfigKey("kube_workspace_limit", .integer),
        // `dir:PATH` shows a host tree to the sandbox: it widens (docs/config.md).
        ConfigKey("image", .image),
        ConfigKey("image_root", .string, choices: ["overlay", "copy", "read-only"]),
        ConfigKey("fresh_sandbox_per_call", .boolean),
        ConfigKey("snapshot_workspace", .boolean),
        ConfigKey("stream", .boolean, flag: "--no-stream"),
        ConfigKey("max_steps", .integer),
        ConfigKey("max_tokens", .integer),
        ConfigKey("max_cost", .number),
        ConfigKey("timeout", .duration),
        ConfigKey("call_timeout", .duration),
        ConfigKey("prices", .string, isPath: true),
        ConfigKey("max_format_errors", .integer),
        ConfigKey("memory", .bytes),
        ConfigKey("pids", .integer),
        ConfigKey("cpus", .number),
        ConfigKey("redact", .stringList),
        ConfigKey("secret_env", .stringList),
        ConfigKey("sign_key", .string, isPath: true),
        ConfigKey("network", .string, widens: true, choices: ["none", "proxy"]),
        ConfigKey("allow_hosts", .stringList, flag: "--allow-host", widens: true),
        ConfigKey("resolve", .stringList, widens: true),
        ConfigKey("allow_private", .boolean, widens: true),
        ConfigKey("secrets", .stringList, flag: "--secret", widens: true),
        ConfigKey("secret_hosts", .stringList, flag: "--secret-host", widens: true),
        ConfigKey("upstream_ca", .stringList, widens: true),
        ConfigKey("max_egress", .bytes),
        ConfigKey("tools", .tools, hasFlag: false),
        ConfigKey("mcp_servers", .servers, hasFlag: false),
        ConfigKey("remote_mcp_servers", .servers, hasFlag: false, widens: true),
    ]

    /// Image references whose path part is a file or directory on the host.
    static let imagePathPrefixes = ["oci:", "docker-archive:", "dir:"]

    public static func named(_ name: String) -> ConfigKey? { all.first { $0.name == name } }
}
