import Foundation

/// How an exec ended, read from the Status the apiserver sends on channel 3. No Status (the
/// stream dropped, or the server sent none) is `unknown`: never taken for success.
public enum ExecExit: Sendable, Hashable, CustomStringConvertible {
    case code(Int32)
    case unknown(String)

    public var description: String {
        switch self {
        case .code(let code): return "exit \(code)"
        case .unknown(let why): return "unknown exit (\(why))"
        }
    }

    /// Parses channel 3's Status: `Success`, or `Failure` with reason `NonZeroExitCode` and
    /// the code in `details.causes[reason=ExitCode].message`; any other failure is unknown.
    public static func parse(_ data: Data) -> ExecExit {
        guard let status = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return .unknown("channel 3 carried no Status JSON")
        }
        if status["status"] as? String == "Success" { return .code(0) }
        let causes = (status["details"] as? [String: Any])?["causes"] as? [[String: Any]] ?? []
        if status["reason"] as? String == "NonZeroExitCode",
           let cause = causes.first(where: { $0["reason"] as? String == "ExitCode" }) ?? causes.first,
           let text = cause["message"] as? String, let code = Int32(text) {
            return .code(code)
        }
        return .unknown(status["message"] as? String ?? "a Failure Status without an exit code")
    }
}
