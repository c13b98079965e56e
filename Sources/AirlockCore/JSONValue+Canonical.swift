import AirlockModels

extension JSONValue {
    /// The canonical JSON text of this value (see `CanonicalJSON`).
    public var canonicalJSON: String { CanonicalJSON.string(self) }

    /// Parses JSON text strictly (RFC 8259), telling integers from doubles.
    public init(parsing text: String) throws(JSONParseError) {
        self = try JSONParser.parse(text)
    }
}
