import AirlockProtocol
import Foundation
import Glibc
import Synchronization
import Testing

/// `airlock-guest --heartbeat N`: a guest whose harness falls silent (a remote stream that
/// dropped without closing its stdin) exits after N seconds; pings keep it alive.
@Suite("guest heartbeat", .timeLimit(.minutes(1)))
struct HeartbeatTests {
    @Test("pings keep the guest alive past its heartbeat and are answered; silence then ends it within the bound, with exit 76")
    func silenceEndsTheGuest() async throws {
        let guest = try #require(guestBinary, "airlock-guest is not built")
        let workspace = NSTemporaryDirectory() + "heartbeat-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        // Its stdin stays open the whole time (we hold the write end), as a dropped remote
        // stream would leave it; its output goes to a file we read after.
        var input: [Int32] = [-1, -1]
        try #require(pipe(&input) == 0)
        defer { close(input[1]) }
        let outputPath = workspace + ".out"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: guest)
        process.arguments = ["--workspace", workspace, "--heartbeat", "3"]
        process.standardInput = FileHandle(fileDescriptor: input[0], closeOnDealloc: false)
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle.nullDevice
        // When it exited, seen from Foundation's own thread: a starved test task polling
        // later must not stretch the measured wait.
        let exitedAt = Mutex<ContinuousClock.Instant?>(nil)
        process.terminationHandler = { _ in exitedAt.withLock { $0 = .now } }
        try process.run()
        close(input[0])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) }; process.waitUntilExit() }

        // Four seconds of pings, one every quarter second, from a thread of their own (a busy
        // test process must not delay them past the heartbeat): more than the heartbeat.
        let codec = FrameCodec()
        let pinger = Mutex<(lastPing: ContinuousClock.Instant, written: Int, done: Bool)>((.now, 0, false))
        let writeEnd = input[1]
        let pings = try (1...16).map { try codec.encode(RequestFrame(id: UInt64($0), request: .ping)) }
        Thread {
            for bytes in pings {
                let written = bytes.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
                pinger.withLock { $0.lastPing = .now; if written == bytes.count { $0.written += 1 } }
                usleep(250_000)
            }
            pinger.withLock { $0.done = true }
        }.start()
        while !pinger.withLock({ $0.done }) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(pinger.withLock { $0.written } == 16, "every ping was written")
        #expect(process.isRunning, "the guest died although it was pinged")
        // Then silence (since the last ping): it must go after the heartbeat, and well within
        // the heartbeat plus its one-second check (a loaded machine is allowed slack).
        let silent = pinger.withLock { $0.lastPing }
        while exitedAt.withLock({ $0 }) == nil && ContinuousClock.now - silent < .seconds(12) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let exited = try #require(exitedAt.withLock { $0 }, "the guest outlived its heartbeat by far")
        let waited = exited - silent
        #expect(waited >= .seconds(3) && waited < .seconds(9), "it left after \(waited)")
        process.waitUntilExit()
        #expect(process.terminationStatus == 76)
        // Every ping was answered `ok`, by id.
        let lines = (try? String(contentsOfFile: outputPath, encoding: .utf8))?.split(separator: "\n") ?? []
        let frames = lines.compactMap { line -> ResponseFrame? in
            if case .success(let frame) = codec.decode(ResponseFrame.self, from: Array(line.utf8)) { return frame }
            return nil
        }
        let answered = Set(frames.filter { $0.response == .ok }.map(\.id))
        #expect(answered == Set((1...16).map(UInt64.init)), "\(lines)")
    }
}
