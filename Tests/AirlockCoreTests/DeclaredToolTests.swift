import AirlockModels
import Foundation
import Testing
@testable import AirlockCore

/// `tools:` entries: parsing, schema validation of calls, whole-argument placeholders and
/// the `--` rule.
@Suite struct DeclaredToolTests {
    static let pytest = """
        tools:
          - name: pytest
            description: Run pytest on one path.
            input_schema:
              type: object
              properties:
                path: {type: string, pattern: "^[A-Za-z0-9_./-]+$"}
                keyword: {type: string}
                verbose: {type: boolean}
              required: [path]
              additionalProperties: false
            argv: ["python3", "-m", "pytest", "-q", "{keyword}", "--", "{path}"]
            timeout: 2m
            read_only: true
            env: {PYTHONDONTWRITEBYTECODE: 1}
        """

    func tools(_ text: String) throws -> [DeclaredTool] {
        let file = try ConfigFile.parse(text, path: "/p/airlock.yaml")
        return try DeclaredTool.parse(try #require(file["tools"]).node, file: file.path)
    }

    func call(_ tools: [DeclaredTool], _ arguments: String) -> Result<ValidToolCall, ToolCallProblem> {
        ToolCallValidator.validate(ToolCall(id: "c", name: tools[0].name, arguments: arguments), declared: tools)
    }

    @Test func buildsArgvFromValidatedArguments() throws {
        let tools = try tools(Self.pytest)
        #expect(tools.map(\.name) == ["pytest"])
        #expect(tools[0].timeoutSeconds == 120 && tools[0].readOnly && tools[0].env == ["PYTHONDONTWRITEBYTECODE": "1"])
        guard case .success(.declared(let declared)) = call(tools, #"{"path": "tests/test_a.py"}"#) else {
            Issue.record("the call was refused")
            return
        }
        #expect(declared.argv == ["python3", "-m", "pytest", "-q", "--", "tests/test_a.py"])
        // After `--` a leading dash is a path, not an option.
        guard case .success(.declared(let dashed)) = call(tools, #"{"path": "-weird.py"}"#) else {
            Issue.record("a dash after -- was refused")
            return
        }
        #expect(dashed.argv.suffix(2) == ["--", "-weird.py"])
    }

    @Test func refusesValuesThatCouldBeOptions() throws {
        let tools = try tools(Self.pytest)
        guard case .failure(let problem) = call(tools, #"{"path": "a.py", "keyword": "--rootdir=/"}"#) else {
            Issue.record("an option-looking value before -- was accepted")
            return
        }
        #expect(problem.kind == .notAllowed && problem.field == "keyword")
        #expect(problem.message.contains("begins with '-'"))
    }

    @Test func validatesAgainstTheFullSchema() throws {
        let tools = try tools(Self.pytest)
        let cases: [(String, ToolCallProblem.Kind, String)] = [
            (#"{}"#, .missingField, "missing required field \"path\""),
            (#"{"path": "a.py; rm -rf /"}"#, .notAllowed, "must match the pattern"),
            (#"{"path": "a.py", "extra": 1}"#, .unknownField, "unknown field \"extra\""),
            (#"{"path": 5}"#, .wrongType, "must be string, got integer"),
        ]
        for (arguments, kind, text) in cases {
            guard case .failure(let problem) = call(tools, arguments) else {
                Issue.record("\(arguments) was accepted")
                continue
            }
            #expect(problem.kind == kind, "\(arguments): \(problem)")
            #expect(problem.message.contains(text), "\(problem.message)")
        }
    }

    @Test(arguments: [
        (#"argv: ["sh", "-c", "pytest {path}"]"#, "placeholder must be a whole argument"),
        (#"argv: ["{path}"]"#, "the program itself cannot be a placeholder"),
        (#"argv: ["pytest", "{nope}"]"#, "not a property of input_schema"),
        (#"argv: []"#, "expected a non-empty list"),
    ])
    func refusesBadTemplates(argv: String, message: String) throws {
        let text = """
            tools:
              - name: t
                description: d
                input_schema: {type: object, properties: {path: {type: string}}}
                \(argv)
            """
        #expect(throws: ConfigError.self) { _ = try tools(text) }
        do { _ = try tools(text) } catch let error as ConfigError {
            #expect(error.message.contains(message), "\(error)")
            #expect(error.line == 5 && error.key == "tools.t.argv", "\(error)")
        }
    }

    @Test func refusesBadDeclarations() throws {
        let schemaBroken = """
            tools:
              - name: t
                description: d
                input_schema: {type: object, properties: {n: {type: integer, minimum: "zero"}}}
                argv: [true]
            """
        do { _ = try tools(schemaBroken); Issue.record("a broken schema was accepted") } catch let error as ConfigError {
            #expect(error.key == "tools.t.input_schema" && error.message.contains("not a usable JSON Schema"), "\(error)")
        }
        let reserved = "tools:\n  - {name: shell, description: d, argv: [ls]}\n"
        do { _ = try tools(reserved); Issue.record("a built-in name was accepted") } catch let error as ConfigError {
            #expect(error.message.contains("reserved"), "\(error)")
        }
        let unknown = "tools:\n  - {name: t, description: d, argv: [ls], shell: true}\n"
        do { _ = try tools(unknown); Issue.record("an unknown key was accepted") } catch let error as ConfigError {
            #expect(error.key == "tools.t.shell", "\(error)")
        }
    }

    @Test func executorRunsArgvWithoutAShell() throws {
        let tools = try tools(Self.pytest)
        guard case .success(let valid) = call(tools, #"{"path": "t.py"}"#) else { Issue.record("refused"); return }
        let executor = ToolExecutor(limits: BudgetLimits(), outputLimit: 1024)
        guard case .exec(let request)? = executor.request(for: valid) else { Issue.record("not an exec"); return }
        #expect(request.shell == nil)
        #expect(request.argv == ["/usr/bin/env", "PYTHONDONTWRITEBYTECODE=1", "python3", "-m", "pytest", "-q", "--", "t.py"])
        #expect(request.timeoutMs == 120_000)
    }
}

@Suite struct BuiltinSchemaTests {
    @Test func everyBuiltinSchemaCompilesUnderTheFullValidator() {
        #expect(ToolCallValidator.builtinSchemas.keys.sorted() == BuiltinTools.names.sorted())
    }
}
