import AirlockModels
import AirlockProtocol
import AirlockSandbox
import AirlockStorePostgres
import ArgumentParser
import Foundation

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check what this host supports and which sandbox backend will be used.",
        discussion: """
        Checks bubblewrap, user namespaces, seccomp, cgroups (v1 and v2), Landlock, and \
        starts a real sandbox to run /bin/true. Each missing piece comes with the exact fix. \
        Exit status 0 when the default backend works, 1 otherwise.
        """
    )

    @Flag(name: .long, help: "Print the findings as one JSON object.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Check this PostgreSQL database instead of the host: connectivity, server version (13 or newer), schema, clock skew.", valueName: "url"))
    var database: String?

    func run() async throws {
        if let database {
            let report = await PostgresDiagnosis.run(url: database)
            if json {
                let checks: [JSONValue] = report.checks.map { check in
                    ["name": .string(check.name), "ok": .bool(check.ok), "detail": .string(check.detail),
                     "fix": check.fix.map { .string($0) } ?? .null]
                }
                print(JSONValue.object(["ok": .bool(report.ok), "checks": .array(checks)]).canonicalJSON)
            } else {
                for check in report.checks {
                    print("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)")
                    if let fix = check.fix, !check.ok { print("     fix: \(fix)") }
                }
            }
            // A database that cannot be used is a usage error, as for every other command.
            if !report.ok { throw ExitCode(2) }
            return
        }
        let report = await HostReport.gather()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            for check in report.checks {
                print("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)")
                if let fix = check.fix, !check.ok { print("     fix: \(fix)") }
            }
            print("backend: \(report.backend ?? "none usable")")
        }
        if report.backend == nil { throw ExitCode(1) }
    }
}
