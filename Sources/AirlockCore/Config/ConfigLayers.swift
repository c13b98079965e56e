import AirlockModels
import Foundation

/// The user file and the project file, merged: project over user over defaults (flags
/// go over both; the command applies them). A project file that widens what a run may do
/// is refused unless trusted.
public struct ConfigLayers: Sendable {
    public struct Value: Sendable {
        public var key: ConfigKey
        public var value: JSONValue
        public var node: ConfigNode
        /// `project FILE:LINE` or `user FILE:LINE`.
        public var source: String
        public var file: String
    }

    public var user: ConfigFile?
    public var project: ConfigFile?

    public init(user: ConfigFile?, project: ConfigFile?) {
        self.user = user
        self.project = project
    }

    public static func userDirectory(environment: [String: String]) -> URL {
        if let xdg = environment["XDG_CONFIG_HOME"], xdg.hasPrefix("/") {
            return URL(fileURLWithPath: xdg).appendingPathComponent("airlock")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".config/airlock")
    }

    /// Finds and reads the files: `explicit` (from `--config`, which must exist), else
    /// `airlock.yaml` in `directory` when present; the user file when present.
    public static func load(explicit: String?, directory: String, environment: [String: String]) throws(ConfigError) -> ConfigLayers {
        let userPath = userDirectory(environment: environment).appendingPathComponent("config.yaml").path
        let user = FileManager.default.fileExists(atPath: userPath) ? try ConfigFile.load(userPath) : nil
        var project: ConfigFile?
        if let explicit {
            project = try ConfigFile.load(explicit)
        } else {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent("airlock.yaml").path
            if FileManager.default.fileExists(atPath: candidate) { project = try ConfigFile.load(candidate) }
        }
        return ConfigLayers(user: user, project: project)
    }

    public subscript(name: String) -> Value? {
        if let project, let entry = project[name] {
            return Value(key: entry.key, value: entry.value, node: entry.node,
                         source: "project \(project.path):\(entry.line)", file: project.path)
        }
        if let user, let entry = user[name] {
            return Value(key: entry.key, value: entry.value, node: entry.node,
                         source: "user \(user.path):\(entry.line)", file: user.path)
        }
        return nil
    }

    /// The project file's entries that widen access, each as `LINE key`.
    public func widening() -> [ConfigFile.Entry] {
        guard let project else { return [] }
        return project.entries.filter { entry in
            if entry.key.widens { return true }
            switch entry.key.name {
            case "policy": return Self.policyAllows(entry.value, replacingUserPolicy: user?["policy"] != nil)
            // No namespaces: host /proc and named sockets are in reach (SECURITY.md's matrix).
            // landlock: no namespaces; kubernetes: the workspace leaves this machine.
            case "sandbox": return ["landlock", "kubernetes"].contains(entry.value.stringValue ?? "")
            // A host directory shown to the sandbox as its root, with whatever it holds.
            case "image": return entry.value.stringValue?.hasPrefix("dir:") ?? false
            default: return false
            }
        }
    }

    /// A project policy widens when it allows something by rule, or when it replaces a
    /// user policy with an allow-by-default one. A policy file path cannot be judged from
    /// here (it can change after trust), so it counts as widening.
    static func policyAllows(_ value: JSONValue, replacingUserPolicy: Bool) -> Bool {
        guard case .object(let policy) = value else { return true }
        if case .array(let rules)? = policy["rules"],
           rules.contains(where: { $0["decision"]?.stringValue == "allow" }) { return true }
        let decision = policy["default"]?.stringValue ?? "allow"
        return decision == "allow" && replacingUserPolicy
    }

    /// Throws unless the project file widens nothing, is trusted, or `trustFlag` is set.
    public func checkTrust(_ trust: ConfigTrust, trustFlag: Bool) throws(ConfigError) {
        guard let project, !trustFlag else { return }
        let widening = widening()
        guard !widening.isEmpty, !trust.isTrusted(project) else { return }
        let list = widening.map { "\($0.key.name) (line \($0.line))" }.joined(separator: ", ")
        throw ConfigError(file: project.path, line: widening[0].line, key: widening[0].key.name,
                          message: "this project file widens what the run may do (\(list)) and is not trusted; "
                          + "review it, then run `airlock config trust \(project.path)` or pass --trust-config")
    }
}
