/// One reason an instance does not satisfy a schema: where in the instance (a JSON
/// pointer, empty for the root), which keyword refused it, and a sentence for people and
/// models.
public struct SchemaFailure: Sendable, Hashable, Codable, CustomStringConvertible {
    public var instancePath: String
    public var keyword: String
    public var message: String

    public init(instancePath: String, keyword: String, message: String) {
        self.instancePath = instancePath
        self.keyword = keyword
        self.message = message
    }

    public var description: String {
        (instancePath.isEmpty ? "the value" : "at \(instancePath)") + ": " + message
    }
}

/// A schema that cannot be used: not a schema at all, an unresolvable `$ref`, a pattern
/// that does not compile, or a value the 2020-12 meta-schema refuses.
public struct SchemaProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var details: [SchemaFailure]

    public init(_ message: String, details: [SchemaFailure] = []) {
        self.message = message
        self.details = details
    }

    public var description: String {
        details.isEmpty ? message : message + ": " + details.prefix(5).map(\.description).joined(separator: "; ")
    }
}
