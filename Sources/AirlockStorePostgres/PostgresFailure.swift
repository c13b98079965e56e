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
        case (.server, "28000") where message.contains("pg_hba.conf"):
            let hint = url.sslMode == .disable
                ? "; a server that accepts only TLS (hostssl) refuses sslmode=disable: use sslmode=require or verify-full"
                : "; ask its administrator to allow this user, database and address in pg_hba.conf"
            return .unavailable("\(place) does not accept this connection (\(message))\(hint)")
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
            if let cause = error.underlying, "\(type(of: cause))".contains("SSL") {
                return .unavailable(tlsFailure(cause, place: place, url: url))
            }
            let cause = error.underlying.map { "\($0)" } ?? "closed"
            return .unavailable("cannot reach \(place) (\(cause)); is the server running and listening there, and does the URL name the right host and port?")
        default:
            return .unavailable("\(place): \(String(reflecting: error))")
        }
    }

    /// A failed TLS handshake names what was checked, so the fix is plain: the CA file, the
    /// host name in the certificate, or a weaker sslmode.
    static func tlsFailure(_ cause: any Error, place: String, url: PostgresURL) -> String {
        let detail = "\(cause)"
        let checked = url.sslMode == .verifyFull
            ? "the server's certificate must be signed by the CA in sslrootcert=\(url.sslRootCert ?? "?") and name the host \(url.host)"
            : "the server's certificate must be signed by the CA in sslrootcert=\(url.sslRootCert ?? "?")"
        return "the TLS handshake with \(place) failed (\(detail)): with sslmode=\(url.sslMode.rawValue) \(checked)"
    }

    /// A dropped or refused connection, or a server shutting down or starting up.
    static func isTransient(_ error: any Error) -> Bool {
        if let error = error as? PSQLError {
            switch error.code {
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
                // A certificate that does not verify will not verify on the next try either.
                return !(error.underlying.map { "\(type(of: $0))".contains("SSL") } ?? false)
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
