import AirlockCore
import AirlockModels
import ArgumentParser
import Foundation

/// A submitted run's options: checked at submit time, stored as the argument list of
/// `airlock run` (paths made absolute, no secret), parsed again by the worker that claims it.
struct QueuedRun {
    var command: RunCommand
    var argv: [String]
    var model: ModelSpec
    var workspace: String
    var needs: [String]
    var json: Bool
    var state: StateOptions

    /// What `airlock runs` and the API show of a queued run.
    var summary: JSONValue {
        ["model": .string(model.description), "workspace": .string(workspace), "needs": .array(needs.map(JSONValue.string))]
    }

    /// Parses `airlock submit`'s arguments as `airlock run` would; usage errors exit 2.
    static func parseSubmission(_ arguments: [String]) throws -> QueuedRun {
        var rest: [String] = []
        var json = false
        var stateArguments: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--json" {
                json = true
            } else if ["--database", "--state-dir"].contains(argument), index + 1 < arguments.count {
                stateArguments += [argument, arguments[index + 1]]
                index += 1
            } else if argument.hasPrefix("--database=") || argument.hasPrefix("--state-dir=") {
                stateArguments.append(argument)
            } else {
                rest.append(argument)
            }
            index += 1
        }
        let state: StateOptions
        var command: RunCommand
        do {
            state = try StateOptions.parse(stateArguments)
            command = try RunCommand.parse(rest)
        } catch {
            throw CLIError(RunCommand.message(for: error), code: 2)
        }
        let environment = ProcessInfo.processInfo.environment
        guard let modelText = command.model ?? environment["AIRLOCK_MODEL"], let spec = ModelSpec(parsing: modelText) else {
            throw CLIError("no model, or not provider:name: pass --model openai:NAME, anthropic:NAME or script:FILE", code: 2)
        }
        let cwd = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: cwd, isDirectory: true)).standardizedFileURL.path
        }
        var model = spec
        if spec.provider == .script {
            let path = absolute(spec.name)
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw CLIError("--model script:\(spec.name): cannot read \(path)", code: 2)
            }
            model = ModelSpec(provider: .script, name: path)
        }
        command.model = model.description
        let workspace = absolute(command.workspace ?? cwd)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: workspace, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIError("--workspace \(workspace) is not a directory", code: 2)
        }
        command.workspace = workspace
        if let policy = command.policy {
            command.policy = absolute(policy)
            do { _ = try PolicyFile.load(absolute(policy)) } catch { throw CLIError("\(error)", code: 2) }
        }
        if let prices = command.prices { command.prices = absolute(prices) }
        if let key = command.signKey { command.signKey = absolute(key) }
        if command.approver == "tty" {
            throw CLIError("--approver tty needs the submitter's terminal; a queued run uses web (airlock approve / the page / the API) or deny", code: 2)
        }
        var needs: [String] = []
        if let variable = command.apiKeyEnv ?? spec.provider.defaultAPIKeyEnv { needs.append(variable) }
        needs += command.secretEnv + command.egress.secret
        var replacements: [String: String] = ["--model": model.description, "--workspace": workspace]
        for (flag, value) in [("--policy", command.policy), ("--prices", command.prices), ("--sign-key", command.signKey)] {
            if let value { replacements[flag] = value }
        }
        return QueuedRun(command: command, argv: rewrite(rest, replacements), model: model, workspace: workspace,
                         needs: Array(Set(needs)).sorted(), json: json, state: state)
    }

    /// `arguments` with the values of `replacements`' options replaced (added when absent).
    static func rewrite(_ arguments: [String], _ replacements: [String: String]) -> [String] {
        var output: [String] = []
        var seen: Set<String> = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if let value = replacements[name], argument.hasPrefix("--") {
                seen.insert(name)
                output += [name, value]
                if !argument.contains("=") { index += 1 }
            } else if argument == "--" {
                output += arguments[index...]
                break
            } else {
                output.append(argument)
            }
            index += 1
        }
        for (name, value) in replacements.sorted(by: { $0.key < $1.key }) where !seen.contains(name) {
            output += [name, value]
        }
        return output
    }
}
