import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// Opening the database: many processes at once on a new one, and every kind of bad input
/// a clear error naming the fix, exit 2, with nothing half-written.
@Suite("airlock --database", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(3)))
struct DatabaseCLITests {
    /// Starts every command at the same moment and waits for all of them.
    static func together(_ commands: [[String]], environment: [String: String] = [:]) async throws -> [RunBinary.Outcome] {
        let processes = try commands.map { try AirlockProcess($0, environment: environment) }
        var outcomes: [RunBinary.Outcome] = []
        for process in processes {
            if !(await process.waitForExit(limit: .seconds(120))) { Issue.record("airlock \(process.process.arguments ?? []) hung") }
            outcomes.append(RunBinary.Outcome(status: process.status, stdout: process.stdout, stderr: process.stderr))
            process.cleanUp()
        }
        return outcomes
    }

    @Test("80 airlock processes (run, runs, submit) started at once on a new SQLite state dir all succeed")
    func manyProcessesOnANewSQLiteStateDir() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([RunScene.submit()])
        var commands: [[String]] = []
        for index in 0..<80 {
            switch index % 4 {
            case 0: commands.append(["run", "t\(index)", "--model", model, "--workspace", scene.workspace, "--state-dir", scene.stateDir])
            case 1: commands.append(["submit", "t\(index)", "--model", model, "--workspace", scene.workspace, "--state-dir", scene.stateDir])
            default: commands.append(["runs", "--state-dir", scene.stateDir])
            }
        }
        let outcomes = try await Self.together(commands)
        let failures = outcomes.filter { $0.status != 0 }
        #expect(failures.isEmpty, "\(failures.count) failed, first: \(failures.first?.stderr ?? "")")
        #expect(try await scene.runs().count == 40)
    }

    @Test("40 airlock processes (run, runs, submit, worker) started at once on a new PostgreSQL database all succeed")
    func manyProcessesOnANewPostgresDatabase() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        let model = try scene.script("s", [WorkerScene.submit()])
        var commands: [[String]] = []
        for index in 0..<40 {
            let base = ["--database", scene.url, "--state-dir", scene.root + "/state-\(index)"]
            switch index % 4 {
            case 0: commands.append(["run", "t\(index)", "--model", model, "--workspace", scene.workspace] + base)
            case 1: commands.append(["submit", "t\(index)", "--model", model, "--workspace", scene.workspace] + base)
            case 2: commands.append(["runs"] + base)
            default: commands.append(["doctor", "--database", scene.url])
            }
        }
        // Long-lived ones start in the same moment: two workers and a server.
        let servers = try (0..<2).map { index in
            try AirlockProcess(["worker", "--name", "w\(index)", "--database", scene.url, "--state-dir", scene.root + "/state-w\(index)"])
        } + [try AirlockProcess(["serve", "--port", "0", "--database", scene.url, "--state-dir", scene.root + "/state-serve"])]
        let outcomes = try await Self.together(commands)
        let failures = outcomes.filter { $0.status != 0 }
        #expect(failures.isEmpty, "\(failures.count) failed, first: \(failures.first?.stderr ?? "") \(failures.first?.stdout ?? "")")
        #expect(try await scene.runs().count == 20)
        for server in servers {
            #expect(server.process.isRunning, "a long-lived command died at start: \(server.stderr)")
            kill(server.pid, SIGTERM)
            _ = await server.waitForExit(limit: .seconds(20))
            #expect(server.status == 0 || server.reason == .uncaughtSignal, "\(server.stderr)")
            server.cleanUp()
        }
        #expect(try scene.server.psql("airlock", "SELECT count(*) FROM airlock_schema").trimmingCharacters(in: .whitespacesAndNewlines) == "4", "each of the four migrations applied once")
    }

    @Test("bad databases: each a clear error naming the fix, exit 2, nothing written")
    func badDatabases() async throws {
        guard let scene = try WorkerScene.make() else { return }
        defer { scene.remove() }
        func runs(_ url: String) async throws -> RunBinary.Outcome {
            try await RunBinary.run(["runs", "--database", url, "--state-dir", scene.root + "/state"])
        }
        let malformed = try await runs("mysql://root@127.0.0.1/x")
        #expect(malformed.status == 2 && malformed.stderr.contains("not a PostgreSQL URL"), "\(malformed.stderr)")
        let badMode = try await runs(scene.url.replacingOccurrences(of: "sslmode=disable", with: "sslmode=sometimes"))
        #expect(badMode.status == 2 && badMode.stderr.contains("sslmode"), "\(badMode.stderr)")
        let refused = try await runs("postgres://airlock@127.0.0.1:\(TestPostgres.freePort())/airlock?sslmode=disable")
        #expect(refused.status == 2 && refused.stderr.contains("cannot reach") && refused.stderr.contains("running"), "\(refused.stderr)")
        let password = try await runs(scene.server.url(database: "airlock", user: "pwuser", password: "wrong"))
        #expect(password.status == 2 && password.stderr.contains("password"), "\(password.stderr)")
        #expect(!password.stderr.contains("wrong"), "the password was echoed: \(password.stderr)")
        let missing = try await runs(scene.server.url(database: "nosuchdb"))
        #expect(missing.status == 2 && missing.stderr.contains("createdb"), "\(missing.stderr)")

        // A database another program wrote into is refused and left as it was.
        try scene.server.psql("postgres", "CREATE DATABASE foreign_db OWNER airlock")
        try scene.server.psql("foreign_db", "CREATE TABLE invoices (id int)")
        let foreign = try await runs(scene.server.url(database: "foreign_db"))
        #expect(foreign.status == 2 && foreign.stderr.contains("not Airlock's") && foreign.stderr.contains("invoices"), "\(foreign.stderr)")
        #expect(try scene.server.psql("foreign_db", "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = 'public'")
            .trimmingCharacters(in: .whitespacesAndNewlines) == "invoices")

        // A schema newer than this airlock: refused, untouched.
        let fresh = try await runs(scene.url)
        #expect(fresh.status == 0, "\(fresh.stderr)")
        try scene.server.psql("airlock", "INSERT INTO airlock_schema (version) VALUES (99)")
        let newer = try await runs(scene.url)
        #expect(newer.status == 2 && newer.stderr.contains("upgrade airlock"), "\(newer.stderr)")

        let doctor = try await RunBinary.run(["doctor", "--database", scene.server.url(database: "foreign_db")])
        #expect(doctor.status == 2 && doctor.stdout.contains("not Airlock's"), "\(doctor.stdout)")
        let healthy = try await RunBinary.run(["doctor", "--database", scene.server.url(database: "postgres").replacingOccurrences(of: "/postgres?", with: "/airlock2?")])
        #expect(healthy.status == 2, "a missing database is not healthy: \(healthy.stdout)")
    }
}
