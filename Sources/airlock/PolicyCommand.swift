import AirlockCore
import AirlockModels
import ArgumentParser
import Foundation

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Work with policy files (allow / ask / deny rules for tool calls).",
        discussion: "The format is in docs/policy.md.",
        subcommands: [PolicyCheckCommand.self])
}

struct PolicyCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a policy file and, given a call, print the decision and the rule that made it.",
        discussion: """
        Examples:
          airlock policy check policy.yaml
          airlock policy check policy.yaml --tool shell --args '{"command": "sh -c \\"rm -rf build\\""}'
        Exit 0 when the file is valid (whatever the decision), 2 when it is not.
        """)

    @Argument(help: "The policy file (YAML).")
    var file: String

    @Option(name: .long, help: "The tool of the call to decide (shell, read_file, write_file, edit_file, list_files).")
    var tool: String?

    @Option(name: .long, help: "The call's arguments as JSON.")
    var args: String = "{}"

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    func run() async throws {
        try await Output.guarded {
            let policy: Policy
            do { policy = try PolicyFile.load(file) }
            catch { throw CLIError("\(error)", code: 2) }
            guard let tool else {
                Output.line("\(file): valid; \(policy.rules.count) rules, default \(policy.default.rawValue)")
                return
            }
            let valid: ValidToolCall
            switch ToolCallValidator.validate(ToolCall(id: "check", name: tool, arguments: args)) {
            case .success(let call): valid = call
            case .failure(let problem): throw CLIError("not a valid call: \(problem.message)", code: 2)
            }
            let verdict = PolicyEngine(policy: policy).decide(valid)
            if json {
                Output.line(JSONValue.object(verdict.payload).canonicalJSON)
            } else {
                Output.line("\(verdict.decision.rawValue) — \(verdict.rule ?? "default"): \(verdict.reason)")
            }
        }
    }
}
