import AirlockEgress
import AirlockSandbox
import CAirlockSys
import Foundation

/// The proxy a run (or an `airlock exec`) reaches the network through: started before the
/// first sandbox, stopped after the last. Its socket lives in a private directory that the
/// sandbox backend hands to the sandbox's host user only.
public final class EgressGate: Sendable {
    public let proxy: EgressProxy
    /// What the sandbox configuration needs to reach the proxy.
    public let attachment: EgressAttachment
    private let directory: String

    private init(proxy: EgressProxy, attachment: EgressAttachment, directory: String) {
        self.proxy = proxy
        self.attachment = attachment
        self.directory = directory
    }

    /// Starts the proxy. `secretValues` maps each secret's name to its real value (from the
    /// harness's environment); a secret without a value is a configuration error.
    public static func open(_ settings: EgressSettings, secretValues: [String: String],
                            maxBytes: Int?) async throws -> EgressGate {
        var secrets: [EgressSecret] = []
        for binding in settings.secrets {
            guard let value = secretValues[binding.name], !value.isEmpty else {
                throw EgressGateError("--secret \(binding.name): the harness's environment has no value for it")
            }
            let hosts = try binding.hosts.map { try EgressRule(parsing: $0) }
            secrets.append(EgressSecret(name: binding.name, value: value, placeholder: binding.placeholder, hosts: hosts))
        }
        var configuration = EgressConfiguration(allow: try settings.allowHosts.map { try EgressRule(parsing: $0) })
        configuration.resolve = settings.resolve
        configuration.allowPrivate = settings.allowPrivate
        configuration.secrets = secrets
        configuration.maxBytes = maxBytes
        configuration.upstreamTrustRootsPEM = settings.upstreamTrustRootsPEM
        let proxy = try EgressProxy(configuration: configuration)

        let directory = try makePrivateDirectory()
        let socket = directory + "/proxy.sock"
        do {
            try await proxy.start(unixSocketPath: socket)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        var attachment = EgressAttachment(socketOnHost: socket, port: settings.port,
                                          certificateAuthorityPEM: proxy.certificateAuthorityPEM)
        if attachment.certificateAuthorityPEM != nil, let (path, pem) = systemBundle() {
            attachment.systemBundlePath = path
            attachment.systemBundlePEM = pem
        }
        return EgressGate(proxy: proxy, attachment: attachment, directory: directory)
    }

    /// Records of requests that finished since the last call, in the order they finished.
    public func takeRecords() -> [EgressRecord] { proxy.takeRecords() }

    /// The tool call that later connections belong to (nil between calls).
    public func setTag(_ tag: String?) { proxy.setTag(tag) }

    public var budgetExhausted: Bool { proxy.budgetExhausted }

    /// The proxy's byte cap, changed while it runs (an approver extended the budget).
    public func setByteLimit(_ limit: Int?) { proxy.setByteLimit(limit) }

    /// Stops the proxy (records for connections still open are produced) and removes the
    /// socket's directory.
    public func close() async {
        await proxy.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A fresh 0700 directory for the socket: under /run/airlock for root (never a shared
    /// /tmp), the user's runtime directory otherwise.
    private static func makePrivateDirectory() throws -> String {
        let base = socketBase
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o711])
        // Someone else's directory (or a symlink planted in a shared /tmp) could swap the
        // socket under us: the base must be a real directory of our own.
        var info = stat()
        guard lstat(base, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == getuid() else {
            throw EgressGateError("\(base) is not a directory owned by uid \(getuid()); remove it or set XDG_RUNTIME_DIR")
        }
        sweepStale(base)
        var template = Array((base + "/XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            guard let pointer = buffer.baseAddress else { return false }
            return mkdtemp(pointer) != nil
        }
        guard made else {
            throw EgressGateError("cannot create a directory for the egress proxy under \(base): \(String(cString: strerror(errno)))")
        }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Where the socket directories live.
    static var socketBase: String {
        if getuid() == 0 { return "/run/airlock/egress" }
        if let runtime = ProcessInfo.processInfo.environment["XDG_RUNTIME_DIR"], !runtime.isEmpty {
            return runtime + "/airlock-egress"
        }
        return NSTemporaryDirectory() + "airlock-egress-\(getuid())"
    }

    /// Socket directories a killed harness left behind: nothing answers on their socket any
    /// more and they are older than ten minutes (a proxy being set up is never that old).
    private static func sweepStale(_ base: String) {
        let tenMinutesAgo = Date().addingTimeInterval(-600)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] {
            let directory = base + "/" + name
            guard let modified = (try? FileManager.default.attributesOfItem(atPath: directory))?[.modificationDate] as? Date,
                  modified < tenMinutesAgo else { continue }
            let socket = directory + "/proxy.sock"
            let fd = airlock_connect_unix(socket)
            if fd >= 0 {
                Glibc.close(fd)
                continue
            }
            if errno == ECONNREFUSED || errno == ENOENT { try? FileManager.default.removeItem(atPath: directory) }
        }
    }

    /// The host's CA bundle, shown inside with the per-run CA appended.
    private static func systemBundle() -> (String, String)? {
        for path in ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"] {
            if let pem = try? String(contentsOfFile: path, encoding: .utf8) { return (path, pem) }
        }
        return nil
    }
}

/// A proxy that cannot be configured or started.
public struct EgressGateError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
