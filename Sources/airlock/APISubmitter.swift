import AirlockCore
import AirlockModels
import AirlockServe
import Foundation

/// `POST /api/runs`: the body's fields are the options of `airlock run` by their long names
/// (`max_steps` or `max-steps`), checked exactly as `airlock submit` checks them. Paths must
/// be absolute (the server's working directory means nothing to the caller).
struct APISubmitter: RunSubmitter {
    func submit(_ body: [String: JSONValue], store: any RunStore) async throws -> RunRecord {
        guard let task = body["task"]?.stringValue, !task.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw SubmitRefusal(field: "task", body["task"] == nil ? "required: what the agent should do" : "must be a non-empty string")
        }
        var argv = [task]
        for (key, value) in body.sorted(by: { $0.key < $1.key }) where key != "task" {
            let option = key.replacingOccurrences(of: "_", with: "-")
            guard option.wholeMatch(of: /[a-z][a-z0-9-]*/) != nil, !["database", "state-dir", "json", "help"].contains(option) else {
                throw SubmitRefusal(field: key, "not an option of a submitted run")
            }
            if ["workspace", "policy", "prices", "sign-key"].contains(option), let path = value.stringValue, !path.hasPrefix("/") {
                throw SubmitRefusal(field: key, "must be an absolute path")
            }
            switch value {
            case .bool(true): argv.append("--" + option)
            case .bool(false), .null: break
            case .string(let text): argv += ["--" + option, text]
            case .int(let number): argv += ["--" + option, String(number)]
            case .double(let number): argv += ["--" + option, String(number)]
            case .array(let items):
                for item in items {
                    guard let text = item.stringValue else { throw SubmitRefusal(field: key, "must be an array of strings") }
                    argv += ["--" + option, text]
                }
            default:
                throw SubmitRefusal(field: key, "must be a string, number, boolean or array of strings")
            }
        }
        if body["workspace"] == nil { throw SubmitRefusal(field: "workspace", "required: an absolute path the workers can reach") }
        if case .string(let model)? = body["model"], model.hasPrefix("script:"), !model.dropFirst(7).hasPrefix("/") {
            throw SubmitRefusal(field: "model", "a script: model needs an absolute path")
        }
        let parsed: QueuedRun
        do {
            parsed = try QueuedRun.parseSubmission(argv)
        } catch let error as CLIError {
            throw SubmitRefusal(field: Self.field(in: error.description, body: body), error.description)
        }
        return try await store.submitRun(task: parsed.command.task, model: parsed.model.description, workspace: parsed.workspace,
                                         config: parsed.summary, request: .object(["argv": .array(parsed.argv.map(JSONValue.string))]),
                                         needs: parsed.needs, now: Date())
    }

    /// The body field an error message is about: the first `--option` it names that the body has.
    static func field(in message: String, body: [String: JSONValue]) -> String {
        for match in message.matches(of: /--([a-z][a-z0-9-]*)/) {
            let name = String(match.output.1)
            if let key = body.keys.first(where: { $0.replacingOccurrences(of: "_", with: "-") == name }) { return key }
        }
        if message.contains("model") { return "model" }
        return "body"
    }
}
