import AirlockCore
import PostgresNIO

/// Turns postgres-nio's deliberately terse errors into messages that name the fix, and
/// tells a lost connection (worth a retry) from everything else.
enum PostgresFailure {
    static func describe(_ error: any Error, url: PostgresURL) -> StoreError {
        let place = "PostgreSQL at \(url.display)"
        guard let error = error as? PSQLError else {
            if let error = error as? StoreError { return error }
            return .unavailable("\(place): \(error)")
        }
        let state = error.serverInfo?[.sqlState] ?? ""
        let message = error.serverInfo?[.message] ?? ""
        switch (error.code, state) {
        case (.server, "28P01"), (.server, "28000"):
            return .unavailable("\(place) refused the login of \(url.user) (\(message)); check the user and password in the URL (or PGPASSWORD)")
        case (.server, "3D000"):
            return .unavailable("\(place): database \"\(url.database)\" does not exist; create it (`createdb \(url.database)`) or name another in the URL")
        case (.server, _):
            return .unavailable("\(place): \(message) (SQLSTATE \(state))")
        case (.sslUnsupported, _):
            return .unavailable("\(place) does not offer TLS but sslmode=\(url.sslMode.rawValue) requires it; enable ssl on the server or use sslmode=prefer")
        case (.authMechanismRequiresPassword, _):
            return .unavailable("\(place) asks for a password; put it in the URL (postgres://USER:PASSWORD@…) or PGPASSWORD")
        case (.connectionError, _), (.serverClosedConnection, _), (.clientClosedConnection, _):
            let cause = error.underlying.map { "\($0)" } ?? "closed"
            return .unavailable("cannot reach \(place) (\(cause)); is the server running and listening there, and does the URL name the right host and port?")
        default:
            return .unavailable("\(place): \(String(reflecting: error))")
        }
    }

    /// A dropped or refused connection, or a server shutting down or starting up.
    static func isTransient(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
                return true
            case .server:
                let state = error.serverInfo?[.sqlState] ?? ""
                return ["57P01", "57P02", "57P03", "08000", "08003", "08006"].contains(state)
            default:
                return false
            }
        }
        return "\(type(of: error))".contains("ConnectionPoolError")
    }
}
