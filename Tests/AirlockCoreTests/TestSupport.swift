import Foundation
import GRDB
@testable import AirlockCore
@testable import AirlockStoreSQLite

/// A fresh directory under the system temp dir, removed by `cleanUp()`.
struct TempDir {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("airlock-core-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func cleanUp() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// A second, raw connection to the same database file: how an attacker with the file
/// would edit the ledger behind the harness's back (triggers dropped first).
func tamper(_ store: Store, _ sql: String, _ arguments: StatementArguments = []) throws {
    let raw = try DatabaseQueue(path: store.databaseURL.path)
    try raw.write { db in
        try db.execute(sql: "DROP TRIGGER IF EXISTS ledger_no_update; DROP TRIGGER IF EXISTS ledger_no_delete")
        try db.execute(sql: sql, arguments: arguments)
    }
    try raw.close()
}
