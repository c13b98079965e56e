import Foundation
import Glibc
import Testing

/// `airlock-guest --install FROM TO`: a pod's `guest` container copies the guest into the
/// shared volume with it (its postStart hook). Each file appears whole under its name or not
/// at all: a new file is renamed over the old, never written in place.
@Suite("guest install", .timeLimit(.minutes(1)))
struct GuestInstallTests {
    static func install(_ guest: String, _ from: String, _ to: String) throws -> (Int32, String) {
        try runBounded(guest, ["--install", from, to], keep: .stderr, limit: 20)
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

/// `airlock-guest --idle --until-main-ends` (a pod's `guest` container) ends when the
/// `--idle` process that connected to it (`main`'s pid 1) dies, so a pod ends with `main`.
/// Both run here in a network namespace of their own (the abstract socket is per namespace).
@Suite("pod companion", .timeLimit(.minutes(1)))
struct PodCompanionTests {
    @Test("the companion exits 0 once the main idle process is SIGKILLed, not before")
    func endsWithMain() throws {
        let guest = try #require(guestBinary, "airlock-guest is not built")
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare") else {
            print("skipping endsWithMain: needs root and unshare for a network namespace of its own")
            return
        }
        let script = """
        "$0" --idle --until-main-ends & companion=$!
        sleep 0.3
        "$0" --idle & main=$!
        sleep 0.5
        kill -0 $companion && echo companion-alive-with-main
        kill -9 $main
        for i in $(seq 1 50); do kill -0 $companion 2>/dev/null || break; sleep 0.1; done
        if kill -0 $companion 2>/dev/null; then echo companion-outlived-main; kill -9 $companion; else wait $companion; echo companion-exit-$?; fi
        """
        let (_, said) = try runBounded("/usr/bin/unshare", ["--net", "--", "/bin/sh", "-c", script, guest], keep: .stdout, limit: 30)
        #expect(said.contains("companion-alive-with-main"), "\(said)")
        #expect(said.contains("companion-exit-0"), "\(said)")
    }
}

enum KeptOutput { case stdout, stderr }

/// Runs `executable` with no input, SIGKILLed after `limit` seconds; returns its status and
/// the stream it was asked to keep (through a file: a pipe's write end can leak into the
/// children it leaves behind).
func runBounded(_ executable: String, _ arguments: [String], keep: KeptOutput, limit: Int) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let file = NSTemporaryDirectory() + "bounded-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).out"
    FileManager.default.createFile(atPath: file, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let kept = FileHandle(forWritingAtPath: file)
    process.standardOutput = keep == .stdout ? kept : FileHandle.nullDevice
    process.standardError = keep == .stderr ? kept : FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let pid = process.processIdentifier
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(limit), execute: watchdog)
    process.waitUntilExit()
    watchdog.cancel()
    return (process.terminationStatus, (try? String(contentsOfFile: file, encoding: .utf8)) ?? "")
}
