import AirlockCore
import AirlockModels
import ArgumentParser
import Foundation

/// `--config` and `--trust-config`, shared by `run`, `tools` and `config show`.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Project config file (default: airlock.yaml in the workspace, when present). See docs/config.md.", valueName: "file"))
    var config: String?

    @Flag(name: .long, help: "Use a project config file that widens access (hosts, secrets, allow rules, base URL) without `airlock config trust`.")
    var trustConfig = false

    /// Reads the user and project files; errors are usage errors (exit 2) naming the line.
    func layers(workspace: String?) throws -> ConfigLayers {
        let environment = ProcessInfo.processInfo.environment
        do {
            let layers = try ConfigLayers.load(explicit: config, directory: workspace ?? FileManager.default.currentDirectoryPath,
                                               environment: environment)
            try layers.checkTrust(ConfigTrust.standard(environment: environment), trustFlag: trustConfig)
            return layers
        } catch {
            throw CLIError("\(error)", code: 2)
        }
    }
}

/// A config value turned into what a flag would have given, with the file and line in
/// the error when it does not parse.
extension ConfigLayers.Value {
    var string: String? { value.stringValue }
    var strings: [String] { (value.arrayValue ?? []).compactMap(\.stringValue) }
    var bool: Bool { value == .bool(true) }

    func parsed<T: ExpressibleByArgument>(_ type: T.Type, _ what: String) throws -> T {
        guard let text = value.stringValue ?? value.intValue.map(String.init), let parsed = T(argument: text) else {
            throw CLIError("\(file):\(node.line): \(key.name): '\(value.stringValue ?? "\(value)")' is not \(what)", code: 2)
        }
        return parsed
    }

    var double: Double? {
        switch value {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: return nil
        }
    }
}

extension JSONValue {
    var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}
