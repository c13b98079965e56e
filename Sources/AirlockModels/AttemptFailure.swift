import AsyncHTTPClient
import Foundation

/// Why one attempt failed and whether another attempt could help.
struct AttemptFailure: Error {
    var error: ModelError
    var retryable: Bool
    /// What the server asked for in `Retry-After`, if anything.
    var retryAfter: Duration?

    static func transport(_ message: String) -> AttemptFailure {
        AttemptFailure(error: ModelError(.transport, message), retryable: true)
    }

    static func malformed(_ message: String) -> AttemptFailure {
        AttemptFailure(error: ModelError(.malformed, message), retryable: false)
    }

    /// Maps a client or channel error. Bad-URL errors are configuration faults; anything
    /// else (refused, reset, timed out, closed mid-body) is transient by assumption.
    static func from(_ error: any Error) -> AttemptFailure {
        if let failure = error as? AttemptFailure { return failure }
        if let client = error as? HTTPClientError {
            let configuration: [HTTPClientError] = [
                .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath, .alreadyShutdown,
            ]
            if configuration.contains(client) {
                return AttemptFailure(error: ModelError(.configuration, "\(client)"),
                                      retryable: false)
            }
            if client == .deadlineExceeded || client == .readTimeout || client == .connectTimeout {
                return .transport("request timed out (\(client))")
            }
        }
        return .transport("request failed: \(error)")
    }

    /// A non-success status, with the provider's own explanation from the body.
    static func status(_ code: Int, body: Data, headers: [(String, String)]) -> AttemptFailure {
        let retryable = code == 408 || code == 429 || code >= 500
        var message = "HTTP \(code)"
        if let detail = providerMessage(in: body) { message += ": \(detail)" }
        return AttemptFailure(error: ModelError(.http, message, status: code),
                              retryable: retryable,
                              retryAfter: retryable ? RetryAfter.parse(headers) : nil)
    }

    /// `{"error": {"message": …}}` (both vendors), `{"error": "…"}`, `{"message": …}`,
    /// or failing all those a prefix of the raw body.
    static func providerMessage(in body: Data) -> String? {
        if let json = JSONText.decode(body) {
            if let message = json["error"]?["message"]?.stringValue { return message }
            if let message = json["error"]?.stringValue { return message }
            if let message = json["message"]?.stringValue { return message }
        }
        let text = String(decoding: body.prefix(500), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
