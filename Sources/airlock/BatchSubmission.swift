import AirlockCore
import AirlockModels
import Foundation

/// A batch file turned into queued runs: each task's `airlock run` arguments (the defaults
/// given after `--`, then the task's overrides), checked as `airlock submit` checks them,
/// with a fresh copy of the template as workspace where the task asks for one. Nothing is
/// stored until every task passed; a failure removes the copies made.
enum BatchSubmission {
    static func requests(_ file: BatchFile, defaults: [String], workspaceRoot: URL) throws -> [BatchRunRequest] {
        for flag in ["--state-dir", "--database", "--json"] where defaults.contains(where: { $0 == flag || $0.hasPrefix(flag + "=") }) {
            throw CLIError("\(flag) is an option of `airlock batch`: give it before --, not among the run options after it", code: 2)
        }
        var copies: [String] = []
        var requests: [BatchRunRequest] = []
        do {
            for (number, entry) in file.tasks.enumerated() {
                var replacements: [String: String] = [:]
                for option in entry.options { replacements[option.flag] = option.value }
                if let workspace = entry.workspace { replacements["--workspace"] = workspace }
                if let template = entry.template {
                    let target = workspaceRoot.appendingPathComponent(String(format: "task-%04d", number + 1)).path
                    try copy(template, to: target)
                    copies.append(target)
                    replacements["--workspace"] = target
                }
                let argv = [entry.task] + QueuedRun.rewrite(defaults, replacements)
                let parsed: QueuedRun
                do { parsed = try QueuedRun.parseSubmission(argv) } catch {
                    throw CLIError("\(file.path):\(entry.line): \(error)", code: 2)
                }
                var summary = parsed.summary
                if case .object(var members) = summary {
                    members["batch_line"] = .int(entry.line)
                    if let name = entry.name { members["name"] = .string(name) }
                    summary = .object(members)
                }
                requests.append(BatchRunRequest(task: parsed.command.task, model: parsed.model.description,
                                                workspace: parsed.workspace, config: summary,
                                                request: .object(["argv": .array(parsed.argv.map(JSONValue.string))]),
                                                needs: parsed.needs))
            }
        } catch {
            for copy in copies { try? FileManager.default.removeItem(atPath: copy) }
            throw error
        }
        return requests
    }

    /// `cp -a` semantics: a private copy of the template, modes kept, world-writable top so
    /// the sandbox's user can write (as a workspace made by hand would be).
    static func copy(_ template: String, to target: String) throws {
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        do { try FileManager.default.copyItem(atPath: template, toPath: target) } catch {
            throw CLIError("cannot copy the template \(template) to \(target): \(error.localizedDescription)", code: 2)
        }
    }
}
