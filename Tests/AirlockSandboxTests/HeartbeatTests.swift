import AirlockProtocol
import Foundation
import Glibc
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
        process.arguments = ["--workspace", workspace, "--heartbeat", "2"]
        process.standardInput = FileHandle(fileDescriptor: input[0], closeOnDealloc: false)
        process.standardOutput = FileHandle(forWritingAtPath: outputPath)
        process.standardError = FileHandle.nullDevice
        try process.run()
        close(input[0])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) }; process.waitUntilExit() }

        // Five seconds of pings, one every half second: more than twice the heartbeat.
        let codec = FrameCodec()
        var silent = ContinuousClock.now
        for id in 1...10 {
            let bytes = try codec.encode(RequestFrame(id: UInt64(id), request: .ping))
            #expect(bytes.withUnsafeBytes { write(input[1], $0.baseAddress, $0.count) } == bytes.count)
            silent = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(process.isRunning, "the guest died although it was pinged")
        // Then silence (since the last ping): it must go within the heartbeat plus its
        // one-second check.
        while process.isRunning && ContinuousClock.now - silent < .seconds(8) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let waited = ContinuousClock.now - silent
        #expect(!process.isRunning, "the guest outlived its heartbeat by far")
        #expect(waited >= .seconds(2) && waited < .seconds(5), "it left after \(waited)")
        process.waitUntilExit()
        #expect(process.terminationStatus == 76)
        // Every ping was answered `ok`, by id.
        let lines = (try? String(contentsOfFile: outputPath, encoding: .utf8))?.split(separator: "\n") ?? []
        let frames = lines.compactMap { line -> ResponseFrame? in
            if case .success(let frame) = codec.decode(ResponseFrame.self, from: Array(line.utf8)) { return frame }
            return nil
        }
        let answered = Set(frames.filter { $0.response == .ok }.map(\.id))
        #expect(answered == Set((1...10).map(UInt64.init)), "\(lines)")
    }
}
