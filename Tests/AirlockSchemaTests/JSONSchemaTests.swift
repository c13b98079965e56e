import AirlockCore
import AirlockModels
import AirlockSchema
import Testing

/// Compile-time refusals and the messages a model or a user reads.
@Suite struct JSONSchemaTests {
    func schema(_ text: String) throws -> JSONSchema { try JSONSchema(try JSONValue(parsing: text)) }

    @Test(arguments: [
        (#"{"type": 5}"#, "not a valid draft 2020-12 schema"),
        (#"{"minLength": -1}"#, "not a valid draft 2020-12 schema"),
        (#"{"properties": {"a": "string"}}"#, "not a valid draft 2020-12 schema"),
        (#"{"pattern": "(unclosed"}"#, "is not a valid regular expression"),
        (##"{"$ref": "#/$defs/missing"}"##, "does not resolve"),
        (#"{"$ref": "https://elsewhere.example/schema.json"}"#, "does not resolve"),
        (#"[1, 2]"#, "must be a JSON object or a boolean"),
    ])
    func refusesBrokenSchemas(text: String, expected: String) throws {
        #expect(throws: SchemaProblem.self) { _ = try schema(text) }
        do { _ = try schema(text) } catch let error as SchemaProblem {
            #expect(error.description.contains(expected), "\(error.description)")
        }
    }

    @Test func failuresNameThePathAndTheRule() throws {
        let compiled = try schema(#"""
        {"type": "object", "required": ["path"], "additionalProperties": false,
         "properties": {"path": {"type": "string", "pattern": "^[a-z/]+$"},
                        "depth": {"type": "integer", "minimum": 1}}}
        """#)
        #expect(compiled.validate(try JSONValue(parsing: #"{"path": "src/app"}"#)).isEmpty)
        let failures = compiled.validate(try JSONValue(parsing: #"{"path": "Src", "depth": 0, "x": 1}"#))
        #expect(failures.map(\.instancePath) == ["/depth", "/path", "/x"])
        #expect(failures.map(\.keyword) == ["/properties/depth/minimum", "/properties/path/pattern", "/additionalProperties"])
        #expect(failures[2].message == "unknown field \"x\"; the fields are: depth, path")
        let missing = compiled.validate(try JSONValue(parsing: "{}"))
        #expect(missing.map(\.message) == ["missing required field \"path\""])
    }

    @Test func anyOfExplainsTheClosestBranch() throws {
        let compiled = try schema(#"{"anyOf": [{"type": "string"}, {"type": "integer", "maximum": 3}]}"#)
        let failures = compiled.validate(.int(9))
        #expect(failures.count == 1)
        #expect(failures[0].message.contains("must match at least one of 2 schemas"))
        #expect(failures[0].message.contains("must be at most 3, got 9"))
    }

    @Test func cyclicReferencesStopInsteadOfLooping() throws {
        let compiled = try schema(##"{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}"##)
        let failures = compiled.validate(.int(1))
        #expect(failures.contains { $0.message.contains("recurses deeper than") })
    }
}
