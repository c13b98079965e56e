import AirlockEgress
import Foundation
import Glibc
import Testing

@testable import AirlockCore

/// The harness side of a run's network: the proxy's private socket directory and what a
/// killed harness leaves behind.
@Suite("Egress gate")
struct EgressGateTests {
    @Test("the socket lives in a fresh 0700 directory that is removed on close")
    func privateDirectory() async throws {
        let gate = try await EgressGate.open(EgressSettings(allowHosts: ["api.test"]), secretValues: [:], maxBytes: nil)
        let socket = gate.attachment.socketOnHost
        let directory = (socket as NSString).deletingLastPathComponent
        var info = stat()
        #expect(stat(directory, &info) == 0 && info.st_mode & 0o777 == 0o700 && info.st_uid == getuid())
        #expect(lstat(socket, &info) == 0 && (info.st_mode & S_IFMT) == S_IFSOCK)
        #expect(gate.attachment.certificateAuthorityPEM == nil, "no secrets, no CA")
        await gate.close()
        #expect(!FileManager.default.fileExists(atPath: directory))
    }

    @Test("a secret without a value is refused before anything listens")
    func secretNeedsValue() async throws {
        var settings = EgressSettings(allowHosts: ["api.test"])
        settings.secrets = [.init(name: "TOKEN", hosts: ["api.test"], placeholder: EgressSecret.makePlaceholder(name: "TOKEN"))]
        await #expect(throws: EgressGateError.self) {
            _ = try await EgressGate.open(settings, secretValues: [:], maxBytes: nil)
        }
    }

    @Test("directories a killed harness left (nothing listening, older than ten minutes) are swept; live or recent ones stay")
    func staleDirectoriesAreSwept() async throws {
        let base = EgressGate.socketBase
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let stale = base + "/stale-" + UUID().uuidString.prefix(6)
        let recent = base + "/recent-" + UUID().uuidString.prefix(6)
        for directory in [stale, recent] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            // A socket file whose listener is gone: connecting is refused.
            let fd = Self.listen(directory + "/proxy.sock")
            close(fd)
        }
        // A live proxy in an old directory stays too.
        let live = try await EgressGate.open(EgressSettings(allowHosts: ["api.test"]), secretValues: [:], maxBytes: nil)
        let liveDirectory = (live.attachment.socketOnHost as NSString).deletingLastPathComponent
        let hourAgo = Date().addingTimeInterval(-3600)
        for directory in [stale, liveDirectory] {
            try FileManager.default.setAttributes([.modificationDate: hourAgo], ofItemAtPath: directory)
        }
        let next = try await EgressGate.open(EgressSettings(allowHosts: ["api.test"]), secretValues: [:], maxBytes: nil)
        #expect(!FileManager.default.fileExists(atPath: stale), "the stale directory is still there")
        #expect(FileManager.default.fileExists(atPath: recent), "a recent directory was removed")
        #expect(FileManager.default.fileExists(atPath: liveDirectory), "a live proxy's directory was removed")
        await next.close()
        await live.close()
        try? FileManager.default.removeItem(atPath: recent)
    }

    /// A bound, listening Unix socket at `path` (the caller closes it).
    static func listen(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        _ = Glibc.listen(fd, 1)
        return fd
    }
}
