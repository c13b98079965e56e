import AirlockProtocol
import Foundation
import Glibc
import Synchronization

/// Where the built products live: beside the test executable.
enum BuiltProducts {
    static var directory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        return (exe as NSString).deletingLastPathComponent
    }

    static func path(_ name: String) -> String? {
        let candidates = [directory + "/" + name,
                          (directory as NSString).deletingLastPathComponent + "/" + name]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

let guestBinary = BuiltProducts.path("airlock-guest")

/// The `airlock-guest` executable started directly (no sandbox) with `--workspace DIR`, for
/// speaking raw bytes to it and for checking its own path confinement, which inside a real
/// sandbox is hidden behind the mount namespace.
final class RawGuest: @unchecked Sendable {
    let process = Process()
    private let input: FileHandle
    private let frames = Mutex<[ResponseFrame]>([])
    private let badLines = Mutex<[String]>([])
    private let outputEnded = Mutex(false)

    init(workspace: String) throws {
        signal(SIGPIPE, SIG_IGN)
        guard let guestBinary else { throw POSIXError(.ENOENT) }
        let stdinPipe = Pipe(), stdoutPipe = Pipe()
        process.executableURL = URL(fileURLWithPath: guestBinary)
        process.arguments = ["--workspace", workspace]
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = FileHandle.nullDevice
        input = stdinPipe.fileHandleForWriting
        try process.run()
        let output = stdoutPipe.fileHandleForReading
        let thread = Thread { [self] in
            var reader = LineReader(maxLineBytes: 64 << 20)
            let codec = FrameCodec()
            while true {
                let data = output.availableData
                if data.isEmpty { break }
                for item in reader.feed(Array(data)) {
                    guard case .line(let line) = item else { continue }
                    switch codec.decode(ResponseFrame.self, from: line) {
                    case .success(let frame): frames.withLock { $0.append(frame) }
                    case .failure: badLines.withLock { $0.append(String(decoding: line, as: UTF8.self)) }
                    }
                }
            }
            outputEnded.withLock { $0 = true }
        }
        thread.start()
    }

    /// Lines the guest sent that were not valid response frames.
    var undecodable: [String] { badLines.withLock { $0 } }

    var received: [ResponseFrame] { frames.withLock { $0 } }

    func send(raw bytes: [UInt8]) throws {
        try input.write(contentsOf: Data(bytes))
    }

    func send(_ id: UInt64, _ request: Request) throws {
        try send(raw: try FrameCodec().encode(RequestFrame(id: id, request: request)))
    }

    /// Waits (without blocking a thread) until the predicate holds over all frames so far.
    func waitUntil(timeout: Duration = .seconds(15),
                   _ predicate: ([ResponseFrame]) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end && !Task.isCancelled {
            if predicate(received) { return true }
            if outputEnded.withLock({ $0 }) { return predicate(received) }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return predicate(received)
    }

    /// The final frame answering `id`, if it arrives in time.
    func finalResponse(_ id: UInt64, timeout: Duration = .seconds(15)) async -> Response? {
        _ = await waitUntil(timeout: timeout) { frames in
            frames.contains { $0.id == id && $0.response.isFinal }
        }
        return received.first { $0.id == id && $0.response.isFinal }?.response
    }

    /// Sends a request and returns its final answer.
    func call(_ id: UInt64, _ request: Request) async throws -> Response? {
        try send(id, request)
        return await finalResponse(id)
    }

    /// Closes stdin (the guest should exit cleanly) and returns its termination, or nil if
    /// it had to be killed.
    func finish() async -> (reason: Process.TerminationReason, status: Int32)? {
        try? input.close()
        let clock = ContinuousClock()
        let end = clock.now + .seconds(10)
        while process.isRunning && clock.now < end {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        return (process.terminationReason, process.terminationStatus)
    }
}

/// A scratch directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init(_ prefix: String) throws {
        path = NSTemporaryDirectory() + prefix + "-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
