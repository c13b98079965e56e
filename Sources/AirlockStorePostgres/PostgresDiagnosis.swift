import AirlockCore
import Foundation
import PostgresNIO

/// What `airlock doctor --database` reports: can we log in, is the server new enough, is
/// the schema ours and current, and how far apart are this machine's clock and the
/// database's (leases run on the database's clock; logs and timestamps on ours).
public struct PostgresDiagnosis: Sendable {
    public struct Check: Sendable {
        public var name: String
        public var ok: Bool
        public var detail: String
        public var fix: String?
    }

    public var checks: [Check] = []
    public var ok: Bool { checks.allSatisfy(\.ok) }

    public static func run(url text: String) async -> PostgresDiagnosis {
        var report = PostgresDiagnosis()
        let url: PostgresURL
        do { url = try PostgresURL(text) } catch {
            report.checks.append(Check(name: "database URL", ok: false, detail: "\(error)", fix: nil))
            return report
        }
        var logger = Logger(label: "airlock.doctor")
        logger.logLevel = .critical
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try url.connectionConfiguration(), id: 1, logger: logger)
        } catch {
            report.checks.append(Check(name: "connection", ok: false, detail: "\(PostgresFailure.describe(error, url: url))", fix: nil))
            return report
        }
        defer { Task { try? await connection.close() } }
        report.checks.append(Check(name: "connection", ok: true, detail: "logged in to \(url.display)", fix: nil))
        do {
            let rows = try await connection.rows("SELECT current_setting('server_version_num')::int AS num, version() AS text", logger)
            let number = try rows.first?["num"].decode(Int.self) ?? 0
            let text = try rows.first?["text"].decode(String.self) ?? "?"
            report.checks.append(Check(name: "server version", ok: number >= 130_000, detail: text,
                                       fix: number >= 130_000 ? nil : "Airlock needs PostgreSQL 13 or newer"))
            // Under the migrations' lock (shared): a replica migrating right now finishes first,
            // so the schema is never seen half made.
            try await connection.query("BEGIN", logger: logger)
            try await connection.query("SELECT pg_advisory_xact_lock_shared(\(PostgresSchema.lockKey))", logger: logger)
            let version = try await PostgresSchema.version(connection, logger: logger)
            switch version {
            case nil:
                let tables = try await connection.rows("""
                    SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema()
                    """, logger)
                let count = try tables.first?["n"].decode(Int.self) ?? 0
                report.checks.append(count == 0
                    ? Check(name: "schema", ok: true, detail: "empty database; the first airlock command creates the schema", fix: nil)
                    : Check(name: "schema", ok: false, detail: "\(count) tables that are not Airlock's",
                            fix: "give Airlock an empty database of its own"))
            case let found? where found > PostgresSchema.latest:
                report.checks.append(Check(name: "schema", ok: false, detail: "version \(found), newer than this airlock (\(PostgresSchema.latest))",
                                           fix: "upgrade airlock"))
            case let found?:
                report.checks.append(Check(name: "schema", ok: true,
                                           detail: found == PostgresSchema.latest ? "version \(found) (current)"
                                               : "version \(found); the next airlock command migrates it to \(PostgresSchema.latest)", fix: nil))
            }
            try await connection.query("COMMIT", logger: logger)
            let before = Date()
            let clock = try await connection.rows("SELECT extract(epoch FROM clock_timestamp())::float8 AS t", logger)
            let after = Date()
            let server = try clock.first?["t"].decode(Double.self) ?? 0
            let local = (before.timeIntervalSince1970 + after.timeIntervalSince1970) / 2
            let skew = (server - local) * 1000
            report.checks.append(Check(name: "clock skew", ok: abs(skew) < 1000,
                                       detail: String(format: "%+.1f ms (database minus this machine, ±%.1f ms)", skew, after.timeIntervalSince(before) * 500),
                                       fix: abs(skew) < 1000 ? nil : "sync this machine's clock (chrony/NTP); leases use the database's clock, but timestamps in the ledger use this one"))
        } catch {
            report.checks.append(Check(name: "queries", ok: false, detail: "\(PostgresFailure.describe(error, url: url))", fix: nil))
        }
        return report
    }
}
