import AirlockCore
import AirlockModels
import AirlockSchema
import ArgumentParser
import Foundation

struct SchemaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Work with JSON Schemas the way tool calls are checked.",
        subcommands: [SchemaCheckCommand.self])
}

struct SchemaCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate JSON instances against a JSON Schema (draft 2020-12).",
        discussion: """
        The same validator checks every tool call before it reaches the sandbox: $ref, $defs, \
        $anchor, $dynamicRef, the applicators, unevaluated*, and the validation keywords; \
        `format` is an annotation. Nothing is fetched: a $ref must resolve inside the schema. \
        One result per instance (with --json, one object a line: \
        {"instance": FILE, "valid": BOOL, "errors": [...]}). Exit 0 when every instance is \
        valid, 1 when one is not (or cannot be read), 2 when the schema itself is unusable.
        """)

    @Argument(help: "The schema file (JSON).")
    var schema: String

    @Argument(help: "One or more instance files (JSON).")
    var instances: [String]

    @Flag(name: .long, help: "Print one JSON object a line.")
    var json = false

    func validate() throws {
        if instances.isEmpty { throw ValidationError("give at least one INSTANCE file after the schema") }
    }

    func run() async throws {
        try await Output.guarded {
            let compiled: JSONSchema
            do {
                compiled = try JSONSchema(try Self.load(schema))
            } catch {
                if json {
                    Output.line(JSONValue.object(["schema": .string(schema), "valid": .bool(false),
                                                  "errors": .array([.string("\(error)")])]).canonicalJSON)
                }
                throw CLIError("the schema \(schema) is unusable: \(error)", code: 2)
            }
            var allValid = true
            for file in instances {
                let failures: [JSONValue]
                do {
                    failures = compiled.validate(try Self.load(file)).map { failure in
                        .object(["instance_path": .string(failure.instancePath), "keyword": .string(failure.keyword),
                                 "message": .string(failure.message)])
                    }
                } catch {
                    failures = [.object(["instance_path": .string(""), "keyword": .string(""), "message": .string("\(error)")])]
                }
                allValid = allValid && failures.isEmpty
                if json {
                    Output.line(JSONValue.object(["instance": .string(file), "valid": .bool(failures.isEmpty),
                                                  "errors": .array(failures)]).canonicalJSON)
                } else if failures.isEmpty {
                    Output.line("\(file): valid")
                } else {
                    Output.line("\(file): invalid")
                    for failure in failures {
                        let path = failure["instance_path"]?.stringValue ?? ""
                        Output.line("  \(path.isEmpty ? "(root)" : path): \(failure["message"]?.stringValue ?? "")")
                    }
                }
            }
            if !allValid { throw ExitCode(1) }
        }
    }

    static func load(_ path: String) throws -> JSONValue {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw CLIError("cannot read \(path): \(error.localizedDescription)")
        }
        do { return try JSONValue(parsing: text) } catch {
            throw CLIError("\(path) is not valid JSON: \(error)")
        }
    }
}
