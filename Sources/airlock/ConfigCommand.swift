import AirlockCore
import AirlockModels
import ArgumentParser
import Foundation

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the settings a run would use, or trust a project config file.",
        discussion: """
        Settings come from flags, then the project file (airlock.yaml in the workspace, or \
        --config FILE), then the user file ($XDG_CONFIG_HOME/airlock/config.yaml), then \
        defaults. A project file that widens access (network hosts, secrets, allow rules, base \
        URL or key variable, workspace, remote MCP servers) is refused until trusted. \
        See docs/config.md.
        """,
        subcommands: [ConfigShowCommand.self, ConfigTrustCommand.self])
}

struct ConfigShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Every setting with its value and where it came from (project, user or default).")

    @Option(name: .long, help: "Where to look for airlock.yaml (default: the current directory).")
    var workspace: String?

    @Flag(name: .long, help: "One JSON object: {key: {value, source}}.")
    var json = false

    @OptionGroup var configFiles: ConfigOptions

    static let defaults: [String: JSONValue] = [
        "approver": "tty when there is a terminal, else deny", "sandbox": "auto", "image": "the host's read-only /usr", "image_root": "overlay (copy for a non-root harness)", "stream": .bool(true),
        "max_format_errors": .int(3), "network": "none", "workspace": "the current directory",
        "policy": "allow everything", "fresh_sandbox_per_call": .bool(false), "snapshot_workspace": .bool(false),
        "allow_private": .bool(false), "model": "$AIRLOCK_MODEL",
    ]

    func run() async throws {
        try await Output.guarded {
            let layers = try configFiles.layers(workspace: workspace)
            var object: [String: JSONValue] = [:]
            var lines: [String] = []
            for key in ConfigKey.all {
                let value: JSONValue
                let source: String
                if let set = layers[key.name] {
                    value = set.value
                    source = set.source
                } else {
                    value = Self.defaults[key.name] ?? .null
                    source = "default"
                }
                object[key.name] = .object(["value": value, "source": .string(source)])
                let shown: String
                switch value {
                case .null: shown = "(not set)"
                case .string(let text): shown = text
                default: shown = value.canonicalJSON
                }
                lines.append("\(key.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(shown)  [\(source)]")
            }
            if json {
                Output.line(JSONValue.object(object).canonicalJSON)
            } else {
                Output.line("project file: " + (layers.project?.path ?? "none"))
                Output.line("user file:    " + (layers.user?.path ?? "none"))
                lines.forEach(Output.line)
            }
        }
    }
}

struct ConfigTrustCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Trust a project config file as it is now (by its content hash).",
        discussion: "Review the file first: a trusted file may open network hosts, hand secrets to the proxy, allow tool calls and send your API key to its base URL. Editing the file revokes the trust.")

    @Argument(help: "The file (default: airlock.yaml in the current directory).")
    var file: String = "airlock.yaml"

    func run() async throws {
        try await Output.guarded {
            let config: ConfigFile
            do { config = try ConfigFile.load(file) } catch { throw CLIError("\(error)", code: 2) }
            let layers = ConfigLayers(user: nil, project: config)
            let trust = ConfigTrust.standard(environment: ProcessInfo.processInfo.environment)
            do { try trust.trust(config) } catch { throw CLIError("cannot record the trust in \(trust.file.path): \(error)") }
            let widening = layers.widening().map { "\($0.key.name) (line \($0.line))" }
            Output.line("trusted \(config.path) (sha256 \(config.sha256.prefix(16))…)"
                        + (widening.isEmpty ? "" : "; it widens: " + widening.joined(separator: ", ")))
        }
    }
}
