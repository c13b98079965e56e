import Foundation
import Glibc
import Testing

/// `airlock-guest --install FROM TO`: a pod's `guest` container copies the guest into the
/// shared volume with it (its postStart hook). Each file appears whole under its name or not
/// at all: a new file is renamed over the old, never written in place.
@Suite("guest install", .timeLimit(.minutes(1)))
struct GuestInstallTests {
    static func install(_ guest: String, _ from: String, _ to: String) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: guest)
        process.arguments = ["--install", from, to]
        let log = NSTemporaryDirectory() + "install-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        process.standardError = FileHandle(forWritingAtPath: log)
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 20, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    @Test("copies the binary and lib/ (mode 0555), replaces an existing file by rename (an open reader keeps the old bytes), leaves no temporary file")
    func copiesAtomically() throws {
        let guest = try #require(guestBinary, "airlock-guest is not built")
        let root = NSTemporaryDirectory() + "guest-install-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let source = root + "/image", target = root + "/volume"
        try FileManager.default.createDirectory(atPath: source + "/lib", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let binary = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try binary.write(to: URL(fileURLWithPath: source + "/airlock-guest"))
        try Data("loader".utf8).write(to: URL(fileURLWithPath: source + "/lib/ld.so"))
        try FileManager.default.createDirectory(atPath: source + "/not-a-file", withIntermediateDirectories: true)
        // An older guest already in the volume, held open as a running reader would.
        try Data("old guest".utf8).write(to: URL(fileURLWithPath: target + "/airlock-guest"))
        let reader = open(target + "/airlock-guest", O_RDONLY)
        try #require(reader >= 0)
        defer { close(reader) }

        let (status, said) = try Self.install(guest, source, target)
        #expect(status == 0, "\(said)")
        #expect(FileManager.default.contents(atPath: target + "/airlock-guest") == binary)
        #expect(FileManager.default.contents(atPath: target + "/lib/ld.so") == Data("loader".utf8))
        var info = stat()
        #expect(stat(target + "/airlock-guest", &info) == 0 && info.st_mode & 0o7777 == 0o555)
        var old = [UInt8](repeating: 0, count: 64)
        let count = pread(reader, &old, old.count, 0)
        #expect(count == 9 && String(decoding: old.prefix(9), as: UTF8.self) == "old guest",
                "the open file was rewritten in place, not replaced")
        let left = (try FileManager.default.contentsOfDirectory(atPath: target)) + (try FileManager.default.contentsOfDirectory(atPath: target + "/lib"))
        #expect(Set(left) == ["airlock-guest", "lib", "ld.so"], "\(left)")
    }

    @Test("a source that does not exist or a target it cannot write: exit 73 with the reason, nothing half-written")
    func failsCleanly() throws {
        let guest = try #require(guestBinary, "airlock-guest is not built")
        let root = NSTemporaryDirectory() + "guest-install-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/image", withIntermediateDirectories: true)
        try Data("guest".utf8).write(to: URL(fileURLWithPath: root + "/image/airlock-guest"))
        let missing = try Self.install(guest, root + "/no-such-image", root + "/volume")
        #expect(missing.0 == 73 && missing.1.contains("cannot open"), "\(missing)")
        // A target under a regular file: no directory can be made there.
        try Data().write(to: URL(fileURLWithPath: root + "/file"))
        let blocked = try Self.install(guest, root + "/image", root + "/file/volume")
        #expect(blocked.0 == 73 && blocked.1.contains("cannot create"), "\(blocked)")
    }
}
