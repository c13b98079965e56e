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
}
