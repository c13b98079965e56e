import AirlockModels
import Testing
@testable import AirlockCore

@Suite struct ToolCallValidatorTests {
    func problem(_ name: String, _ arguments: String) -> ToolCallProblem? {
        if case .failure(let problem) = ToolCallValidator.validate(ToolCall(id: "c", name: name, arguments: arguments)) {
            return problem
        }
        return nil
    }

    func valid(_ name: String, _ arguments: String) -> ValidToolCall? {
        try? ToolCallValidator.validate(ToolCall(id: "c", name: name, arguments: arguments)).get()
    }

    @Test func specsAreRealSchemas() {
        #expect(BuiltinTools.names == ["shell", "read_file", "write_file", "edit_file", "list_files", "submit"])
        for spec in BuiltinTools.specs {
            #expect(spec.parameters["type"] == .string("object"))
            #expect(spec.parameters["additionalProperties"] == .bool(false))
            #expect(spec.parameters["required"] != nil)
            #expect(!spec.description.isEmpty)
        }
        #expect(BuiltinTools.shell.parameters["required"] == .array([.string("command")]))
    }

    @Test func validCallsBecomeTypedValues() {
        #expect(valid("shell", #"{"command":"ls -la"}"#) == .shell(command: "ls -la", timeoutSeconds: nil))
        #expect(valid("shell", #"{"command":"sleep 1","timeout_s":30}"#) == .shell(command: "sleep 1", timeoutSeconds: 30))
        #expect(valid("shell", #"{"command":"x","timeout_s":30.0}"#) == .shell(command: "x", timeoutSeconds: 30))
        #expect(valid("read_file", #"{"path":"a.txt"}"#) == .readFile(path: "a.txt"))
        #expect(valid("write_file", #"{"path":"a","content":""}"#) == .writeFile(path: "a", content: ""))
        #expect(valid("edit_file", #"{"path":"a","old":"x","new":"y"}"#) == .editFile(path: "a", old: "x", new: "y"))
        #expect(valid("list_files", #"{}"#) == .listFiles(path: "."))
        #expect(valid("list_files", "") == .listFiles(path: "."))
        #expect(valid("list_files", #"{"path":"src"}"#) == .listFiles(path: "src"))
        #expect(valid("submit", #"{"answer":"42"}"#) == .submit(answer: "42"))
        #expect(ValidToolCall.shell(command: "ls", timeoutSeconds: 5).arguments
            == .object(["command": .string("ls"), "timeout_s": .int(5)]))
    }

    @Test func doubleEncodedArgumentsAreRepaired() {
        #expect(valid("shell", #""{\"command\":\"pwd\"}""#) == .shell(command: "pwd", timeoutSeconds: nil))
        #expect(problem("shell", #""just text""#)?.kind == .notAnObject)
    }

    @Test(arguments: [
        ("rm_rf", #"{}"#, ToolCallProblem.Kind.unknownTool, "unknown tool \"rm_rf\"; the tools are: shell, read_file"),
        ("shell", #"{"command": "ls""#, .invalidJSON, "not valid JSON: line 1, column 17"),
        ("shell", #"["ls"]"#, .notAnObject, "the arguments must be an object, got an array"),
        ("shell", #"{"timeout_s": 5}"#, .missingField, "missing required field \"command\" (string)"),
        ("shell", #"{"command": 5}"#, .wrongType, "\"command\" must be a string, got an integer"),
        ("shell", #"{"command": "ls", "timeout_s": "5"}"#, .wrongType, "\"timeout_s\" must be an integer, got a string"),
        ("shell", #"{"command": "ls", "timeout_s": 1.5}"#, .wrongType, "\"timeout_s\" must be an integer, got a number"),
        ("shell", #"{"command": "ls", "cwd": "/"}"#, .unknownField, "unknown field \"cwd\"; the fields are: command, timeout_s"),
        ("read_file", #"{"path": ""}"#, .emptyValue, "\"path\" must not be empty"),
        ("shell", #"{"command": "ls", "timeout_s": 0}"#, .outOfRange, "\"timeout_s\" must be at least 1, got 0"),
        ("shell", #"{"command": "ls", "timeout_s": 100000}"#, .outOfRange, "\"timeout_s\" must be at most 86400"),
        ("edit_file", #"{"path": "a", "old": "x"}"#, .missingField, "missing required field \"new\""),
    ])
    func problemsAreNamed(name: String, arguments: String, kind: ToolCallProblem.Kind, fragment: String) throws {
        let found = try #require(problem(name, arguments))
        #expect(found.kind == kind)
        #expect(found.message.contains(fragment), "\(found.message)")
    }

    @Test func messagesRemindTheModelOfTheSignature() throws {
        let found = try #require(problem("shell", #"{"cmd": "ls"}"#))
        #expect(found.message.hasSuffix(#"Expected arguments: {"command": string, "timeout_s"?: integer}"#))
        #expect(found.field == "command")
        #expect(found.message.contains(#"missing required field "command" (string) (got unknown field "cmd")"#))
    }

    @Test func schemaValidatorHandlesEnumsItemsAndTypeLists() {
        let schema = JSONValue.object([
            "type": .string("object"),
            "properties": .object([
                "mode": .object(["enum": .array([.string("a"), .string("b")])]),
                "list": .object(["type": .string("array"), "items": .object(["type": .array([.string("string"), .string("null")])])]),
            ]),
        ])
        #expect(SchemaValidator.validate(.object(["mode": .string("c")]), against: schema)?.kind == .notAllowed)
        #expect(SchemaValidator.validate(.object(["list": .array([.string("x"), .null])]), against: schema) == nil)
        let bad = SchemaValidator.validate(.object(["list": .array([.string("x"), .int(1)])]), against: schema)
        #expect(bad?.path == "list[1]")
        #expect(bad?.message.contains("must be a string or null") == true)
    }
}
