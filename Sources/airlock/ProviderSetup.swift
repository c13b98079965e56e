import AirlockCore
import AirlockModels
import Foundation

/// What `run` and `resume` both resolve from their flags: the model with its key (read
/// from the harness's environment only), prices, and the signing key. Mistakes exit 2.
enum ProviderSetup {
    struct Model {
        var model: any LanguageModel
        /// The key, so it can be redacted from everything written.
        var apiKey: String?
    }

    static func model(_ spec: ModelSpec, baseURL: String?, apiKeyEnv: String?, stream: Bool = true) throws -> Model {
        let variable = apiKeyEnv ?? spec.provider.defaultAPIKeyEnv
        let apiKey = variable.flatMap { ProcessInfo.processInfo.environment[$0] }.flatMap { $0.isEmpty ? nil : $0 }
        do {
            let model = try ModelFactory.make(spec, options: ModelOptions(baseURL: baseURL, apiKey: apiKey,
                                                                          apiKeyEnv: variable, stream: stream))
            return Model(model: model, apiKey: apiKey)
        } catch {
            throw CLIError("\(error)", code: 2)
        }
    }

    static func prices(_ file: String?) throws -> PriceTable {
        guard let file else { return .builtin }
        do { return try PriceTable.loading(overridesFrom: URL(fileURLWithPath: file)) }
        catch { throw CLIError("cannot read prices from \(file): \(error)", code: 2) }
    }

    static func signingKey(_ file: String?) throws -> Data? {
        guard let file else { return nil }
        do { return try ChainSignature.loadPrivateKey(file) }
        catch { throw CLIError("cannot read the signing key \(file): \(error)", code: 2) }
    }

    /// What is redacted before anything is written: the API key, the values of the named
    /// variables, key-shaped strings, and the user's own patterns.
    static func redactor(apiKey: String?, secretEnv: [String], patterns: [String]) throws -> Redactor {
        let environment = ProcessInfo.processInfo.environment
        var secrets = apiKey.map { [$0] } ?? []
        for name in secretEnv {
            guard let value = environment[name], !value.isEmpty else {
                throw CLIError("--secret-env \(name): the variable is not set", code: 2)
            }
            secrets.append(value)
        }
        var compiled = Redactor.defaultPatterns
        for (index, pattern) in patterns.enumerated() {
            do { compiled.append(try Redactor.Pattern(name: "user-\(index + 1)", regex: pattern)) }
            catch { throw CLIError("--redact \(pattern) is not a valid regular expression", code: 2) }
        }
        return Redactor(secrets: secrets, patterns: compiled)
    }

    /// `--approver`: `tty` asks on the harness's terminal; `web` waits for `airlock approve` /
    /// `airlock deny` from another shell (the web page itself is not built yet); `deny`
    /// answers every ask with no.
    /// Without the flag: the terminal when there is one, else deny.
    static func approver(_ name: String?, store: any RunStore) throws -> any Approver {
        switch name {
        case "web"?, "queue"?:
            return QueueApprover(store: store) { request in
                Output.error("  ⏸ waiting for approval of \(request.call) (\(request.tool): \(request.summary)) — answer with: airlock approve \(request.run) \(request.call)   or   airlock deny \(request.run) \(request.call) --reason …")
            }
        case "deny"?:
            return DenyApprover()
        case "tty"?:
            guard let terminal = TerminalApprover.onTerminal() else {
                throw CLIError("--approver tty needs a terminal (/dev/tty); use --approver deny for unattended runs", code: 2)
            }
            return terminal
        case nil:
            if isatty(STDIN_FILENO) == 1, let terminal = TerminalApprover.onTerminal() { return terminal }
            return DenyApprover()
        case let other?:
            throw CLIError("--approver \(other) is not available; use tty, web or deny", code: 2)
        }
    }
}
