import AirlockProtocol
import AirlockStreams
import CAirlockSys
import Glibc
import Synchronization
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The guest's request loop: reads frames from stdin, runs each request on its own
/// thread, answers on stdout. It holds no state that matters; killing it loses nothing.
public final class GuestServer: Sendable {
    private let input: Int32
    private let writer: FrameWriter
    private let workspace: String
    /// Where commands run by default: the workspace, or an image's WorkingDir.
    private let directory: String
    /// Cancel pipes of running execs, by request id.
    private let running = Mutex<[UInt64: Int32]>([:])
    /// Input feeds of running interactive execs, by request id.
    private let feeds = Mutex<[UInt64: StdinFeed]>([:])
    /// Egress connections carried over this channel (`--egress-stream`).
    public let streams: StreamTable

    /// Reported in the greeting: processes an earlier guest left, killed by `--fence`.
    private let fenced: Int?
    /// `--heartbeat N`: seconds without a frame after which the guest gives up on its harness.
    private let heartbeat: Int?
    /// When input last arrived (monotonic nanoseconds).
    private let lastInput = Atomic<UInt64>(0)

    public init(input: Int32 = 0, output: Int32 = 1, workspace: String = "/workspace", directory: String? = nil,
                fenced: Int? = nil, heartbeat: Int? = nil) {
        self.input = input
        let writer = FrameWriter(fd: output)
        self.writer = writer
        self.workspace = workspace
        self.directory = directory ?? workspace
        self.fenced = fenced
        self.heartbeat = heartbeat
        streams = StreamTable(send: { writer.send(stream: $0) })
    }

    /// Serves until stdin closes (the harness went away), then returns.
    public func serve() {
        signal(SIGPIPE, SIG_IGN)
        writer.send(0, .hello(Hello(pid: getpid(), workspace: workspace, fenced: fenced)))
        var reader = LineReader()
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        let codec = FrameCodec()
        lastInput.store(Monotonic.nanoseconds(), ordering: .relaxed)
        if let heartbeat { watch(every: heartbeat) }
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                streams.closeAll()
                return
            }
            lastInput.store(Monotonic.nanoseconds(), ordering: .relaxed)
            for item in reader.feed(buffer[0..<count]) {
                switch item {
                case .oversized(let size):
                    writer.fail(0, "frame_too_large",
                                "a frame of \(size) bytes exceeds the cap of \(reader.maxLineBytes)")
                case .line(let line):
                    if let stream = codec.decodeStreamData(line) {
                        dispatch(RequestFrame(id: 0, request: .stream(stream)))
                        continue
                    }
                    switch codec.decode(RequestFrame.self, from: line) {
                    case .success(let frame): dispatch(frame)
                    case .failure(let failure): writer.send(failure.id, .error(failure.error))
                    }
                }
            }
        }
    }

    /// A remote stream can drop without closing the guest's stdin (a partition, a stuck
    /// proxy): when no frame has come for `seconds`, the guest ends what it started (in a
    /// pod: every process but the pod's idle pid 1) and exits, so a lost harness never
    /// leaves it running.
    private func watch(every seconds: Int) {
        let limit = UInt64(seconds) * 1_000_000_000
        GuestThread.start { [self] in
            while true {
                sleep(1)
                guard Monotonic.nanoseconds() - lastInput.load(ordering: .relaxed) > limit else { continue }
                let note = Array("airlock-guest: no frame from the harness for \(seconds) s: exiting\n".utf8)
                _ = note.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                _ = PodFence.fence()
                _exit(76)
            }
        }
    }

    private func dispatch(_ frame: RequestFrame) {
        if case .ping = frame.request {
            writer.send(frame.id, .ok)
            return
        }
        // Stream frames only fill a bounded buffer and wake the stream's pump.
        if case .stream(let stream) = frame.request {
            if let fault = streams.deliver(stream) { writer.fail(0, "stream_refused", fault) }
            return
        }
        // Input goes to its exec in order, from this thread, without waiting on the child;
        // only a refusal is answered.
        if case .stdin(let input) = frame.request {
            guard let feed = feeds.withLock({ $0[input.target] }) else {
                writer.fail(frame.id, "unknown_request", "no running interactive exec has id \(input.target)")
                return
            }
            if !feed.append(input.data ?? Data(), close: input.close ?? false) {
                writer.fail(frame.id, "stdin_refused", "the input of \(input.target) is closed or over \(StdinFeed.maxPending) bytes")
            }
            return
        }
        if case .cancel(let cancel) = frame.request {
            let fd = running.withLock { $0[cancel.target] }
            guard let fd else {
                writer.fail(frame.id, "unknown_request", "no running exec has id \(cancel.target)")
                return
            }
            var byte: UInt8 = 1
            _ = write(fd, &byte, 1)
            writer.send(frame.id, .ok)
            return
        }
        // An interactive exec's feed is registered here, on the reader thread, so input
        // that follows the exec frame at once is never refused as unknown.
        var interactive = false
        if case .exec(let request) = frame.request { interactive = request.interactive == true }
        let feed = interactive ? StdinFeed() : nil
        if interactive {
            guard let feed else {
                writer.fail(frame.id, "spawn_failed", "cannot create an input pipe")
                return
            }
            feeds.withLock { $0[frame.id] = feed }
        }
        GuestThread.start { [self] in handle(frame, feed: feed) }
    }

    private func handle(_ frame: RequestFrame, feed: StdinFeed?) {
        let id = frame.id
        switch frame.request {
        case .exec(let request):
            var fds: [Int32] = [-1, -1]
            guard airlock_pipe(&fds, O_CLOEXEC | O_NONBLOCK) == 0 else {
                if feed != nil { feeds.withLock { _ = $0.removeValue(forKey: id) } }
                writer.fail(id, "spawn_failed", "cannot create a cancel pipe")
                return
            }
            running.withLock { $0[id] = fds[1] }
            ExecRunner(id: id, request: request, workspace: directory, writer: writer,
                       cancelFD: fds[0], feed: feed).run()
            if feed != nil { feeds.withLock { _ = $0.removeValue(forKey: id) } }
            running.withLock { _ = $0.removeValue(forKey: id) }
            close(fds[0])
            close(fds[1])
        case .cancel, .stdin, .stream, .ping:
            break
        default:
            fileOperation(id, frame.request)
        }
    }

    private func fileOperation(_ id: UInt64, _ request: Request) {
        do throws(WorkspaceFiles.Failure) {
            let files = try WorkspaceFiles(root: workspace)
            defer { close(files.rootFD) }
            switch request {
            case .readFile(let body):
                writer.send(id, .file(try files.read(body.path, maxBytes: body.maxBytes)))
            case .writeFile(let body):
                try files.write(body.path, body.content, createParents: body.createParents ?? true)
                writer.send(id, .ok)
            case .editFile(let body):
                try files.edit(body.path, old: body.old, new: body.new)
                writer.send(id, .ok)
            case .listFiles(let body):
                writer.send(id, .entries(try files.list(body.path)))
            case .stat(let body):
                writer.send(id, .stat(try files.status(body.path)))
            case .exec, .cancel, .stdin, .stream, .ping:
                break
            }
        } catch {
            writer.fail(id, error.code, error.message)
        }
    }
}
