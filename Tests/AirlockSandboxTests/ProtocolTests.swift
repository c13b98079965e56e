import AirlockProtocol
import Foundation
import Testing

/// The wire protocol: the guest executable fed raw (and hostile) bytes, `LineReader`, and
/// `FrameCodec` round trips.
@Suite("Protocol")
struct ProtocolTests {
    static func errorCode(_ response: Response?) -> String? {
        if case .error(let error)? = response { return error.code }
        return nil
    }

    @Test("the guest answers bad frames with error frames and keeps serving",
          .enabled(if: guestBinary != nil, "needs the airlock-guest executable beside the tests"))
    func guestSurvivesBadFrames() async throws {
        let workspace = try TemporaryDirectory("airlock-proto")
        defer { workspace.remove() }
        let guest = try RawGuest(workspace: workspace.path)

        // The greeting comes first.
        #expect(await guest.waitUntil { $0.contains { if case .hello = $0.response { true } else { false } } })
        let hello = guest.received.first
        if case .hello(let body)? = hello?.response {
            #expect(body.version == ProtocolVersion.current)
            #expect(body.workspace == workspace.path)
            #expect(hello?.id == 0)
        } else {
            Issue.record("first frame was \(String(describing: hello))")
        }

        func errorsSoFar() -> [ErrorFrame] {
            guest.received.compactMap { if case .error(let error) = $0.response { error } else { nil } }
        }

        // 1. Not JSON at all.
        try guest.send(raw: Array("this is not json\n".utf8))
        #expect(await guest.waitUntil { _ in errorsSoFar().count == 1 })
        #expect(errorsSoFar().last?.code == "malformed_frame")

        // 2. A frame with an unknown type: the id is kept so the error can be matched.
        try guest.send(raw: Array(#"{"id": 41, "type": "format_disk", "path": "/"}"#.utf8) + [10])
        #expect(await guest.waitUntil { _ in errorsSoFar().count == 2 })
        #expect(errorsSoFar().last?.code == "unknown_type")
        #expect(Self.errorCode(await guest.finalResponse(41)) == "unknown_type")

        // 3. A frame missing its id.
        try guest.send(raw: Array(#"{"type": "exec", "argv": ["/bin/echo", "no-id"]}"#.utf8) + [10])
        #expect(await guest.waitUntil { _ in errorsSoFar().count == 3 })
        #expect(errorsSoFar().last?.code == "malformed_frame")

        // 4. Valid JSON of the wrong shape.
        try guest.send(raw: Array(#"{"id": 43, "type": "read_file", "path": 17}"#.utf8) + [10])
        #expect(Self.errorCode(await guest.finalResponse(43)) == "malformed_frame")
        try guest.send(raw: Array("[1, 2, 3]\n".utf8))
        #expect(await guest.waitUntil { _ in errorsSoFar().count == 5 })
        #expect(errorsSoFar().last?.code == "malformed_frame")

        // 5. A frame past the 8 MiB cap, shaped like a real exec: dropped, never run.
        let prefix = Array(#"{"id": 44, "type": "exec", "shell": "echo TOO-BIG; : "#.utf8)
        let oversized = prefix + [UInt8](repeating: UInt8(ascii: "a"), count: ProtocolVersion.maxFrameBytes)
            + Array(#""}"#.utf8) + [10]
        try guest.send(raw: oversized)
        #expect(await guest.waitUntil { _ in errorsSoFar().count == 6 })
        #expect(errorsSoFar().last?.code == "frame_too_large")

        // 6. A valid exec still works after all that.
        try guest.send(45, .exec(ExecRequest(argv: ["/bin/echo", "still-alive"])))
        let final = await guest.finalResponse(45)
        guard case .exit(let status)? = final else {
            Issue.record("exec answered \(String(describing: final))")
            return
        }
        #expect(status.code == 0)
        let output = guest.received.filter { $0.id == 45 }.compactMap { frame -> Data? in
            if case .stdout(let chunk) = frame.response { chunk.data } else { nil }
        }.reduce(Data(), +)
        #expect(output == Data("still-alive\n".utf8))

        // Nothing ran for the bad frames, every line the guest wrote was a valid frame, and
        // the guest exits cleanly when its input closes.
        #expect(!guest.received.contains { $0.id == 44 })
        #expect(!guest.received.contains { frame in
            if case .stdout(let chunk) = frame.response {
                let text = String(decoding: chunk.data, as: UTF8.self)
                return text.contains("TOO-BIG") || text.contains("no-id")
            }
            return false
        })
        #expect(guest.undecodable.isEmpty)
        #expect(guest.process.isRunning)
        let end = await guest.finish()
        #expect(end?.reason == .exit)
        #expect(end?.status == 0)
    }

    @Test("a bad frame split across writes and a cancel for an unknown id",
          .enabled(if: guestBinary != nil, "needs the airlock-guest executable beside the tests"))
    func guestSplitWritesAndUnknownCancel() async throws {
        let workspace = try TemporaryDirectory("airlock-proto")
        defer { workspace.remove() }
        try FileManager.default.createDirectory(atPath: workspace.path + "/sub", withIntermediateDirectories: true)
        let guest = try RawGuest(workspace: workspace.path)
        let frame = try FrameCodec().encode(RequestFrame(id: 7, request: .exec(ExecRequest(argv: ["/bin/echo", "split"]))))
        // One frame in three writes, with pauses between.
        let third = frame.count / 3
        try guest.send(raw: Array(frame[..<third]))
        try await Task.sleep(for: .milliseconds(20))
        try guest.send(raw: Array(frame[third..<(2 * third)]))
        try await Task.sleep(for: .milliseconds(20))
        try guest.send(raw: Array(frame[(2 * third)...]))
        guard case .exit(let status)? = await guest.finalResponse(7) else {
            Issue.record("no exit for the split frame")
            return
        }
        #expect(status.code == 0)
        let cancel = try await guest.call(8, .cancel(CancelRequest(target: 999)))
        #expect(Self.errorCode(cancel) == "unknown_request")
        // Two frames in one write.
        let both = try FrameCodec().encode(RequestFrame(id: 9, request: .stat(PathRequest(path: "sub"))))
            + FrameCodec().encode(RequestFrame(id: 10, request: .listFiles(PathRequest(path: "."))))
        try guest.send(raw: both)
        if case .stat(let info)? = await guest.finalResponse(9) {
            #expect(info.kind == .directory)
        } else {
            Issue.record("no stat answer")
        }
        if case .entries? = await guest.finalResponse(10) {} else { Issue.record("no list answer") }
        let end = await guest.finish()
        #expect(end?.status == 0)
    }

    // MARK: - LineReader

    @Test("LineReader joins a line split across feeds")
    func lineReaderSplits() {
        var reader = LineReader(maxLineBytes: 64)
        #expect(reader.feed(Array("abc".utf8)).isEmpty)
        #expect(reader.pendingBytes == 3)
        #expect(reader.feed(Array("def\ngh".utf8)) == [.line(Array("abcdef".utf8))])
        #expect(reader.feed(Array("i\n\nj\n".utf8)) == [.line(Array("ghi".utf8)), .line(Array("j".utf8))])
        #expect(reader.pendingBytes == 0)
        #expect(reader.feed([]).isEmpty)
        // Byte by byte.
        var items: [LineReader.Item] = []
        for byte in Array("xy\nz\n".utf8) { items += reader.feed([byte]) }
        #expect(items == [.line(Array("xy".utf8)), .line(Array("z".utf8))])
    }

    @Test("LineReader drops an oversized line whole, then reads the next one")
    func lineReaderOversized() {
        var reader = LineReader(maxLineBytes: 8)
        #expect(reader.feed(Array("12345678\n".utf8)) == [.line(Array("12345678".utf8))])
        #expect(reader.feed(Array("0123456789\nok\n".utf8)) == [.oversized(10), .line(Array("ok".utf8))])
        // Oversized across several feeds: nothing is held for it.
        #expect(reader.feed(Array("01234".utf8)).isEmpty)
        #expect(reader.feed(Array("56789".utf8)).isEmpty)
        #expect(reader.pendingBytes == 0)
        #expect(reader.feed(Array("abcdef".utf8)).isEmpty)
        #expect(reader.pendingBytes == 0)
        #expect(reader.feed(Array("\nnext\n".utf8)) == [.oversized(16), .line(Array("next".utf8))])
        #expect(reader.feed(Array("fine\n".utf8)) == [.line(Array("fine".utf8))])
        // Slices with non-zero start indices work too.
        let bytes = Array("skip|tail\n".utf8)
        #expect(reader.feed(bytes[5...]) == [.line(Array("tail".utf8))])
    }

    @Test("LineReader's default cap is the protocol's")
    func lineReaderDefaultCap() {
        #expect(LineReader().maxLineBytes == ProtocolVersion.maxFrameBytes)
    }

    // MARK: - FrameCodec

    static let awkward = Data([0, 1, 0x0a, 0x0d, 0x22, 0x5c, 0xff, 0xfe]) + Data("é✓\n".utf8)

    static let requests: [Request] = [
        .exec(ExecRequest(argv: ["/bin/sh", "-c", "echo \"hi\"\n"], cwd: "sub", env: ["A": "B", "N": "line\nbreak"],
                          stdin: awkward, timeoutMs: 1500, outputCap: 4096, killGraceMs: 250)),
        .exec(ExecRequest(shell: "ls -la")),
        .readFile(PathRequest(path: "dir/file.txt", maxBytes: 10)),
        .readFile(PathRequest(path: "x")),
        .writeFile(WriteFileRequest(path: "a/b.bin", content: awkward, createParents: false)),
        .writeFile(WriteFileRequest(path: "empty", content: Data(), createParents: nil)),
        .editFile(EditFileRequest(path: "e.txt", old: "old\n\t\"text\"", new: "new ✓")),
        .listFiles(PathRequest(path: ".")),
        .stat(PathRequest(path: "/workspace/a")),
        .cancel(CancelRequest(target: UInt64.max)),
    ]

    static let usage = ResourceUsage(wallMs: 12.5, userCpuMs: 3, systemCpuMs: 0.25, maxRssKB: 2048)

    static let responses: [Response] = [
        .hello(Hello(pid: 2, workspace: "/workspace")),
        .stdout(OutputChunk(data: awkward)),
        .stderr(OutputChunk(data: Data("oops\n".utf8))),
        .exit(ExitStatus(code: 0, signal: nil, usage: usage)),
        .exit(ExitStatus(code: nil, signal: 9, timedOut: true, cancelled: true, stdoutTruncated: true,
                         stderrTruncated: true, usage: usage)),
        .file(FileContent(content: awkward, size: 100)),
        .entries(DirectoryListing(entries: [
            FileStat(name: "a", kind: .file, size: 3, mode: 0o644, modifiedMs: 1_700_000_000_123),
            FileStat(name: "d", kind: .directory, size: 4096, mode: 0o755, modifiedMs: 0),
            FileStat(name: "l", kind: .symlink, size: 4, mode: 0o777, modifiedMs: -1),
            FileStat(name: "p", kind: .other, size: 0, mode: 0o600, modifiedMs: 5),
        ])),
        .entries(DirectoryListing(entries: [])),
        .stat(FileStat(name: "x", kind: .file, size: 1, mode: 0o4755, modifiedMs: 42)),
        .ok,
        .error(ErrorFrame(code: "path_escape", message: "nope \"quoted\"\n")),
    ]

    /// One frame is one line: exactly one newline, at the end.
    static func checkSingleLine(_ bytes: [UInt8]) {
        #expect(bytes.last == 10)
        #expect(bytes.filter { $0 == 10 }.count == 1)
        #expect(String(validating: bytes, as: UTF8.self) != nil)
    }

    @Test("every request type survives encode and decode", arguments: requests)
    func requestRoundTrip(request: Request) throws {
        let codec = FrameCodec()
        let frame = RequestFrame(id: 123_456_789, request: request)
        let bytes = try codec.encode(frame)
        Self.checkSingleLine(bytes)
        let decoded = codec.decode(RequestFrame.self, from: bytes.dropLast())
        #expect(decoded == .success(frame))
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        #expect(object?["type"] as? String == request.type)
        #expect(object?["id"] as? Int == 123_456_789)
    }

    @Test("every response type survives encode and decode", arguments: responses)
    func responseRoundTrip(response: Response) throws {
        let codec = FrameCodec()
        let frame = ResponseFrame(id: 77, response: response)
        let bytes = try codec.encode(frame)
        Self.checkSingleLine(bytes)
        #expect(codec.decode(ResponseFrame.self, from: bytes.dropLast()) == .success(frame))
        let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
        #expect(object?["type"] as? String == response.type)
    }

    @Test("all request and response types are covered")
    func coverage() {
        #expect(Set(Self.requests.map(\.type)) ==
                ["exec", "read_file", "write_file", "edit_file", "list_files", "stat", "cancel"])
        #expect(Set(Self.responses.map(\.type)) ==
                ["hello", "stdout", "stderr", "exit", "file", "entries", "stat", "ok", "error"])
    }

    @Test("decoding failures are values with the right code and the id when readable")
    func decodingFailures() {
        let codec = FrameCodec()
        func failure(_ text: String) -> FrameDecodingFailure? {
            if case .failure(let failure) = codec.decode(RequestFrame.self, from: Array(text.utf8)) { return failure }
            return nil
        }
        #expect(failure("not json")?.error.code == "malformed_frame")
        #expect(failure("not json")?.id == 0)
        #expect(failure(#"{"id": 5, "type": "bogus"}"#)?.error.code == "unknown_type")
        #expect(failure(#"{"id": 5, "type": "bogus"}"#)?.id == 5)
        #expect(failure(#"{"type": "stat", "path": "."}"#)?.error.code == "malformed_frame")
        #expect(failure(#"{"id": 6, "type": "stat"}"#)?.error.code == "malformed_frame")
        #expect(failure(#"{"id": 6, "type": "stat"}"#)?.id == 6)
        #expect(failure(#"{"id": -1, "type": "stat", "path": "."}"#)?.error.code == "malformed_frame")
        #expect(failure("")?.error.code == "malformed_frame")
        #expect(failure(#"{"id": 1, "type": "write_file", "path": "a", "content": "%%%"}"#) != nil)
        if case .failure(let failure) = codec.decode(ResponseFrame.self, from: Array(#"{"id": 3, "type": "nope"}"#.utf8)) {
            #expect(failure.error.code == "unknown_type")
        } else {
            Issue.record("an unknown response type decoded")
        }
    }
}

extension Request: CustomTestStringConvertible {
    public var testDescription: String { type }
}

extension Response: CustomTestStringConvertible {
    public var testDescription: String { type }
}
