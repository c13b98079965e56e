import AirlockCore
import AirlockModels

/// Turns a `POST /api/runs` body into a queued run. The `airlock` executable supplies it
/// (it owns the options of `airlock run`); a refusal names the field at fault.
public protocol RunSubmitter: Sendable {
    func submit(_ body: [String: JSONValue], store: any RunStore) async throws -> RunRecord
}

/// A request the submitter refuses: `field` is the JSON field at fault.
public struct SubmitRefusal: Error, Sendable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field): \(message)" }
}
