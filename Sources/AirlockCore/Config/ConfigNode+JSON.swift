import AirlockModels

extension ConfigNode {
    /// A node rebuilt from recorded JSON (a run's ledger keeps its tool definitions as
    /// JSON), so they go through the config file's own parsers again. Lines are 0; object
    /// keys come back sorted.
    public init(json: JSONValue) {
        switch json {
        case .array(let items):
            self = .list(items.map(ConfigNode.init(json:)), line: 0)
        case .object(let fields):
            self = .map(fields.sorted { $0.key < $1.key }.map { (key: $0.key, value: ConfigNode(json: $0.value)) }, line: 0)
        default:
            self = .scalar(json, line: 0)
        }
    }
}
