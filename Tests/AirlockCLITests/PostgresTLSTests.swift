import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// A CA and a server certificate made with `openssl` for one test: the server's names
/// `localhost` only, so the same server can pass `verify-full` by name and fail it by address.
struct PostgresCertificates {
    let directory: String
    var caCertificate: String { directory + "/ca.pem" }
    var otherCA: String { directory + "/other-ca.pem" }
    var server: TestPostgres.TLSFiles { .init(certificate: directory + "/server.pem", key: directory + "/server.key") }

    static let opensslPath: String? = (["/usr/bin/openssl", "/bin/openssl"] as [String]).first { access($0, X_OK) == 0 }

    init() throws {
        directory = NSTemporaryDirectory() + "airlock-tls-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
        try Self.openssl(["req", "-x509"] + ec + ["-keyout", directory + "/ca.key", "-out", caCertificate,
                                                   "-subj", "/CN=airlock test CA"])
        try Self.openssl(["req", "-x509"] + ec + ["-keyout", directory + "/other-ca.key", "-out", otherCA,
                                                   "-subj", "/CN=another CA"])
        try Self.openssl(["req"] + ec + ["-keyout", server.key, "-out", server.certificate, "-subj", "/CN=localhost",
                                         "-addext", "subjectAltName=DNS:localhost",
                                         "-addext", "basicConstraints=critical,CA:FALSE",
                                         "-x509", "-CA", caCertificate, "-CAkey", directory + "/ca.key"])
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private static func openssl(_ arguments: [String]) throws {
        guard let opensslPath else { throw TestPostgresError("openssl is not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opensslPath)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestPostgresError("openssl \(arguments.first ?? "") failed") }
    }
}

/// `--database postgres://…?sslmode=…` against a PostgreSQL server that speaks TLS (and one
/// that does not): each mode means what it means in libpq, a failed check is a clear error
/// with exit 2, and an encrypted connection is seen from the server's side.
@Suite("PostgreSQL over TLS", .enabled(if: RunBinary.path != nil && TestPostgres.binDirectory != nil && PostgresCertificates.opensslPath != nil,
                                       "needs the built airlock, PostgreSQL and openssl (scripts/setup.sh installs them)"),
       .timeLimit(.minutes(3)))
struct PostgresTLSTests {
    @Test("require, verify-ca and verify-full connect over TLS; a wrong CA, a wrong host name, no TLS on the server, sslmode=disable against hostssl: exit 2 naming the fix")
    func sslModes() async throws {
        let certificates = try PostgresCertificates()
        defer { certificates.remove() }
        let server = try TestPostgres.start(tls: certificates.server)
        defer { server.stop() }
        try server.psql("postgres", "CREATE DATABASE tls OWNER airlock")
        let scene = try RunScene.make()
        defer { scene.remove() }
        func url(_ host: String, _ query: String) -> String { "postgres://airlock@\(host):\(server.port)/tls?\(query)" }
        func runs(_ url: String, environment: [String: String] = [:]) async throws -> RunBinary.Outcome {
            try await RunBinary.run(["runs", "--database", url, "--state-dir", scene.stateDir], environment: environment)
        }
        func encryptedLogins() -> Int {
            server.log.components(separatedBy: "\n").filter { $0.contains("connection authorized") && $0.contains("SSL enabled") }.count
        }

        // A whole run over verify-full: the store made its schema and holds the run.
        let model = try scene.script([RunScene.shell("echo over-tls > f.txt"), RunScene.submit()])
        let full = url("localhost", "sslmode=verify-full&sslrootcert=\(certificates.caCertificate)")
        let run = try await scene.run(["--model", model, "--database", full])
        #expect(run.status == 0, "run over verify-full: \(run.stderr)")
        #expect(scene.file("f.txt") == "over-tls\n")
        let listed = try await runs(full)
        #expect(listed.status == 0 && listed.stdout.contains("submitted"), "\(listed.stderr)")
        #expect(try server.psql("tls", "SELECT count(*) FROM runs").trimmingCharacters(in: .whitespacesAndNewlines) == "1")

        // The other modes that must connect; the server logs each login as encrypted.
        let before = encryptedLogins()
        for (label, target) in [("require", url("127.0.0.1", "sslmode=require")),
                                ("prefer", url("127.0.0.1", "sslmode=prefer")),
                                ("verify-ca by address", url("127.0.0.1", "sslmode=verify-ca&sslrootcert=\(certificates.caCertificate)"))] {
            let outcome = try await runs(target)
            #expect(outcome.status == 0, "\(label): \(outcome.stderr)")
        }
        let fromEnvironment = try await runs(url("localhost", ""), environment: ["PGSSLMODE": "verify-full",
                                                                                "PGSSLROOTCERT": certificates.caCertificate])
        #expect(fromEnvironment.status == 0, "PGSSLMODE/PGSSLROOTCERT: \(fromEnvironment.stderr)")
        #expect(encryptedLogins() >= before + 4, "logins seen encrypted: \(encryptedLogins() - before)")

        // Checks that must fail, each naming what to fix; nothing is written.
        let wrongCA = try await runs(url("localhost", "sslmode=verify-full&sslrootcert=\(certificates.otherCA)"))
        #expect(wrongCA.status == 2 && wrongCA.stderr.contains("TLS handshake") && wrongCA.stderr.contains("sslrootcert"),
                "wrong CA: \(wrongCA.stderr)")
        let requireWithWrongCA = try await runs(url("localhost", "sslmode=require&sslrootcert=\(certificates.otherCA)"))
        #expect(requireWithWrongCA.status == 2 && requireWithWrongCA.stderr.contains("TLS handshake"),
                "require with a root certificate checks the chain, as libpq does: \(requireWithWrongCA.stderr)")
        let byAddress = try await runs(url("127.0.0.1", "sslmode=verify-full&sslrootcert=\(certificates.caCertificate)"))
        #expect(byAddress.status == 2 && byAddress.stderr.contains("name the host 127.0.0.1"), "verify-full by address: \(byAddress.stderr)")
        let missingCA = try await runs(url("localhost", "sslmode=verify-ca&sslrootcert=\(scene.root)/none.pem"))
        #expect(missingCA.status == 2 && missingCA.stderr.contains("cannot be read"), "missing CA file: \(missingCA.stderr)")
        let plain = try await runs(url("127.0.0.1", "sslmode=disable"))
        #expect(plain.status == 2 && plain.stderr.contains("no encryption"), "disable against hostssl: \(plain.stderr)")
        #expect(try server.psql("tls", "SELECT count(*) FROM runs").trimmingCharacters(in: .whitespacesAndNewlines) == "1")

        // A server without TLS: require says so; prefer falls back to plain.
        let plainServer = try TestPostgres.start()
        defer { plainServer.stop() }
        let required = try await runs("postgres://airlock@127.0.0.1:\(plainServer.port)/airlock?sslmode=require")
        #expect(required.status == 2 && required.stderr.contains("does not offer TLS"), "require without TLS: \(required.stderr)")
        try plainServer.psql("postgres", "CREATE DATABASE plain OWNER airlock")
        let preferred = try await runs("postgres://airlock@127.0.0.1:\(plainServer.port)/plain?sslmode=prefer")
        #expect(preferred.status == 0, "prefer without TLS: \(preferred.stderr)")
    }
}
