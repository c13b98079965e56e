import AirlockProtocol
import AirlockSandbox
import Foundation
import Synchronization

/// An MCP server run by the guest as an interactive exec: its stdin is fed by `stdin`
/// frames, its stdout comes back as output frames and is split into lines here (capped,
/// so one endless line cannot grow the harness), its stderr is kept apart as its log.
public final class GuestStdioTransport: MCPTransport {
    public static let maxLineBytes = 4 * 1024 * 1024

    public let events: AsyncStream<MCPTransportEvent>
    private let guest: GuestConnection
    private let execID: UInt64
    private let log = LogTail()
    private let reader: Task<Void, Never>

    /// Starts `argv` in the sandbox whose guest this is.
    public init(guest: GuestConnection, argv: [String], cwd: String? = nil) {
        self.guest = guest
        // The guest's own output cap would silently drop a long-lived server's output;
        // the harness enforces its own limits per line and per call instead.
        let request = ExecRequest(argv: argv, cwd: cwd, outputCap: 1 << 50, killGraceMs: 500, interactive: true)
        let (id, responses) = guest.send(.exec(request))
        execID = id
        let (stream, continuation) = AsyncStream<MCPTransportEvent>.makeStream(bufferingPolicy: .unbounded)
        events = stream
        let log = self.log
        reader = Task {
            var lines = LineReader(maxLineBytes: Self.maxLineBytes)
            for await response in responses {
                switch response {
                case .stdout(let chunk):
                    for item in lines.feed([UInt8](chunk.data)) {
                        switch item {
                        case .line(let line): continuation.yield(.line(line))
                        case .oversized(let size): continuation.yield(.oversized(size))
                        }
                    }
                case .stderr(let chunk):
                    log.append(chunk.data)
                case .exit(let status):
                    let how = status.signal.map { "was killed by signal \($0)" } ?? "exited with code \(status.code ?? -1)"
                    continuation.yield(.ended("the server \(how)"))
                case .error(let error):
                    continuation.yield(.ended("the server could not run: \(error.message)"))
                default:
                    continue
                }
            }
            continuation.finish()
        }
    }

    public func send(_ line: Data) async -> Bool {
        guard !guest.isClosed else { return false }
        var framed = line
        framed.append(0x0A)
        return guest.writeStdin(execID, framed)
    }

    public func logTail() async -> String {
        log.text
    }

    public func terminate() async {
        guest.writeStdin(execID, Data(), close: true)
        guest.cancel(execID)
    }
}

/// The end of a server's stderr, kept for error messages.
final class LogTail: Sendable {
    static let limit = 16 * 1024
    private let data = Mutex(Data())

    func append(_ chunk: Data) {
        data.withLock { buffer in
            buffer.append(chunk)
            if buffer.count > Self.limit { buffer = Data(buffer.suffix(Self.limit)) }
        }
    }

    var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
}
