import AirlockModels

/// One line of `airlock run --json`: `{"type": …, "run": …, …fields}`. The first event of
/// a run is `run_started`, the last `run_finished`.
public struct RunEvent: Sendable, Hashable {
    public var type: String
    public var run: String
    public var fields: [String: JSONValue]

    public init(_ type: String, run: String, _ fields: [String: JSONValue] = [:]) {
        self.type = type
        self.run = run
        self.fields = fields
    }

    /// The event as one JSON object, keys sorted.
    public var json: JSONValue {
        var object = fields
        object["type"] = .string(type)
        object["run"] = .string(run)
        return .object(object)
    }
}

public typealias RunEventHandler = @Sendable (RunEvent) -> Void
