import Foundation
import Glibc

/// A PostgreSQL server of the test's own: a cluster made with `initdb` in a temporary
/// directory, listening on a free loopback port (and a private socket directory), run as
/// an unprivileged user (`nobody` when the tests run as root), stopped by `stop()`. Nothing
/// depends on a system service. The initdb result is kept once per machine under
/// /var/cache/airlock-test (or the temp dir) and copied for each server, since initdb is the
/// slow part.
///
/// Users: `airlock` (trust, owner of every database made by `createDatabase`) and
/// `pwuser` with password `right-password` (scram), for the wrong-password test.
public final class TestPostgres: @unchecked Sendable {
    public let port: Int
    public let directory: String
    public var dataDirectory: String { directory + "/data" }
    public var socketDirectory: String { directory + "/socket" }
    let bin: String
    let runAs: String?

    /// The PostgreSQL binaries, or nil (with the reason printed by the caller) when missing.
    public static let binDirectory: String? = {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .filter { FileManager.default.isExecutableFile(atPath: "\(base)/\($0)/bin/initdb") }
            .sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }
        return versions.first.map { "\(base)/\($0)/bin" }
    }()

    public static var unavailableReason: String? {
        binDirectory == nil ? "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; scripts/setup.sh installs it)" : nil
    }

    /// A server certificate and key (PEM files) for a TLS server.
    public struct TLSFiles: Sendable {
        public var certificate: String
        public var key: String
        public init(certificate: String, key: String) {
            self.certificate = certificate
            self.key = key
        }
    }

    /// Options a server starts with; with TLS it also accepts TCP logins only over TLS
    /// (`hostssl`) and logs each connection, so a test can see whether it was encrypted.
    var startOptions = ""

    /// Starts a new server. Throws with the server's log when it cannot start.
    public static func start(tls: TLSFiles? = nil) throws -> TestPostgres {
        guard let bin = binDirectory else { throw TestPostgresError(unavailableReason ?? "no PostgreSQL") }
        let runAs: String? = getuid() == 0 ? "nobody" : nil
        // One initdb per machine: tests in this process wait for each other here, and an
        // flock keeps other test processes out of the same staging.
        templateLock.lock()
        let made = Result { try makeTemplate(bin: bin, runAs: runAs) }
        templateLock.unlock()
        let template = try made.get()
        let directory = NSTemporaryDirectory() + "airlock-pg-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory + "/socket", withIntermediateDirectories: true)
        try run("/bin/cp", ["-a", template, directory + "/data"])
        var options = ""
        if let tls {
            // The server reads its key only when no one else can (0600, its own user).
            try run("/bin/cp", [tls.certificate, directory + "/data/server.crt"])
            try run("/bin/cp", [tls.key, directory + "/data/server.key"])
            chmod(directory + "/data/server.key", 0o600)
            try "local all all trust\nhostssl all all 127.0.0.1/32 trust\n"
                .write(toFile: directory + "/data/pg_hba.conf", atomically: false, encoding: .utf8)
            options = " -c ssl=on -c log_connections=on"
        }
        if let runAs { try run("/bin/chown", ["-R", "\(runAs):", directory]) }
        var lastError = ""
        for _ in 0..<5 {
            let port = freePort()
            let server = TestPostgres(port: port, directory: directory, bin: bin, runAs: runAs)
            server.startOptions = options
            do {
                try server.startServer()
                return server
            } catch {
                lastError = "\(error)\n" + ((try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? "")
            }
        }
        throw TestPostgresError("postgres did not start: \(lastError)")
    }

    init(port: Int, directory: String, bin: String, runAs: String?) {
        self.port = port
        self.directory = directory
        self.bin = bin
        self.runAs = runAs
    }

    /// The server's log (connections are logged on a TLS server).
    public var log: String { (try? String(contentsOfFile: directory + "/log", encoding: .utf8)) ?? "" }

    /// A URL for `database` as user `airlock` over TCP without TLS.
    public func url(database: String, user: String = "airlock", password: String? = nil) -> String {
        let credentials = password.map { "\(user):\($0)" } ?? user
        return "postgres://\(credentials)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }

    /// Creates an empty database owned by `airlock` and returns its URL.
    @discardableResult
    public func createDatabase(_ name: String = "t" + UUID().uuidString.prefix(8).lowercased()) throws -> String {
        try psql("postgres", "CREATE DATABASE \(name) OWNER airlock")
        return url(database: name)
    }

    /// Runs SQL through psql as `airlock`; returns its output (unaligned, tuples only).
    @discardableResult
    public func psql(_ database: String, _ sql: String) throws -> String {
        try Self.run(bin + "/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", "\(port)",
                                     "-U", "airlock", "-d", database, "-c", sql])
    }

    /// Stops the server at once (as a crash would) or cleanly, and starts it again on the same port.
    public func restart(immediate: Bool = true) throws {
        try pgctl(["stop", "-w", "-m", immediate ? "immediate" : "fast"])
        try startServer()
    }

    public func stopServer() throws {
        try pgctl(["stop", "-w", "-m", "immediate"])
    }

    public func startServer() throws {
        try pgctl(["start", "-w", "-t", "30", "-l", directory + "/log",
                   "-o", "-p \(port) -k \(directory)/socket -c listen_addresses=127.0.0.1" + startOptions])
    }

    /// Stops the server and removes its files.
    public func stop() {
        _ = try? pgctl(["stop", "-w", "-m", "immediate"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    func pgctl(_ arguments: [String]) throws {
        try Self.run(bin + "/pg_ctl", ["-D", dataDirectory] + arguments, as: runAs)
    }

    static let templateLock = NSLock()

    /// The cluster initdb makes, kept for the next servers.
    static func makeTemplate(bin: String, runAs: String?) throws -> String {
        let version = (bin as NSString).deletingLastPathComponent.split(separator: "/").last.map(String.init) ?? "x"
        let cache = FileManager.default.isWritableFile(atPath: "/var/cache") ? "/var/cache/airlock-test" : NSTemporaryDirectory() + "airlock-test-cache"
        let template = "\(cache)/pg-template-\(version)"
        if FileManager.default.fileExists(atPath: template + "/PG_VERSION") { return template }
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let lockFD = open(cache + "/pg-template.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        defer { if lockFD >= 0 { flock(lockFD, LOCK_UN); close(lockFD) } }
        if lockFD >= 0 { flock(lockFD, LOCK_EX) }
        if FileManager.default.fileExists(atPath: template + "/PG_VERSION") { return template }
        let staging = template + ".tmp-\(getpid())"
        try? FileManager.default.removeItem(atPath: staging)
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        if let runAs { try run("/bin/chown", ["\(runAs):", staging]) }
        try run(bin + "/initdb", ["-D", staging, "-U", "airlock", "--auth=trust", "--no-sync", "-E", "UTF8",
                                  "--locale=C"], as: runAs)
        // Trust for `airlock`, a real password check for `pwuser`; nothing beyond loopback.
        let hba = """
            local all all trust
            host all pwuser 127.0.0.1/32 scram-sha-256
            host all all 127.0.0.1/32 trust
            """
        try hba.write(toFile: staging + "/pg_hba.conf", atomically: false, encoding: .utf8)
        try run("/usr/bin/env", ["sh", "-c", "echo \"password_encryption = 'scram-sha-256'\" >> \(staging)/postgresql.conf"])
        // The password user is made once in the template: start it on its socket only.
        let socket = NSTemporaryDirectory() + "airlock-pg-tpl-\(getpid())"
        try FileManager.default.createDirectory(atPath: socket, withIntermediateDirectories: true)
        if let runAs { try run("/bin/chown", ["\(runAs):", socket]) }
        let port = freePort()
        try run(bin + "/pg_ctl", ["-D", staging, "start", "-w", "-t", "30", "-l", socket + "/log",
                                  "-o", "-p \(port) -k \(socket) -c listen_addresses=''"], as: runAs)
        defer {
            _ = try? run(bin + "/pg_ctl", ["-D", staging, "stop", "-w", "-m", "fast"], as: runAs)
            try? FileManager.default.removeItem(atPath: socket)
        }
        try run(bin + "/psql", ["-X", "-q", "-h", socket, "-p", "\(port)", "-U", "airlock", "-d", "postgres",
                                "-c", "CREATE ROLE pwuser LOGIN PASSWORD 'right-password'"])
        _ = try? run(bin + "/pg_ctl", ["-D", staging, "stop", "-w", "-m", "fast"], as: runAs)
        // Another test process may have finished first; either copy is good.
        if rename(staging, template) != 0 { try? FileManager.default.removeItem(atPath: staging) }
        return template
    }

    /// Runs a command to its end (posix_spawn and waitpid: nothing else reaps it), output
    /// to a file rather than a pipe, since the server pg_ctl starts inherits the descriptor
    /// and would hold a pipe open for as long as it runs.
    @discardableResult
    static func run(_ path: String, _ arguments: [String], as user: String? = nil) throws -> String {
        // `env -C /`: the unprivileged user may not be able to reach the test's directory.
        let argv = ["/usr/bin/env", "-C", "/"]
            + (user.map { ["/usr/bin/setpriv", "--reuid=\($0)", "--regid=nogroup", "--clear-groups", "--"] } ?? []) + [path]
        let all = argv + arguments
        let outputPath = NSTemporaryDirectory() + "airlock-pg-out-" + UUID().uuidString.prefix(8)
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArguments = all.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, all[0], &actions, nil, &cArguments, environ)
        guard spawned == 0 else { throw TestPostgresError("cannot start \(all[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exited == 0 else {
            throw TestPostgresError("\((path as NSString).lastPathComponent) \(arguments.joined(separator: " ")) exited \(exited): \(text)")
        }
        return text
    }

    /// A loopback port nothing listens on right now.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct TestPostgresError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
