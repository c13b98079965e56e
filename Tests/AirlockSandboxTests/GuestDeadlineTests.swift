import AirlockProtocol
import AirlockSandbox
import Foundation
import Glibc
import Testing

/// A call's `deadline:` against a guest that does not answer: the test plays the guest over
/// two pipes, reading the harness's frames and answering only when it chooses.
@Suite("Guest call deadlines", .timeLimit(.minutes(1)))
struct GuestDeadlineTests {
    /// The guest's side of a connection.
    final class SilentGuest: @unchecked Sendable {
        let connection: GuestConnection
        private let fromHarness: Int32
        private let toHarness: Int32
        private var reader = LineReader()

        init() throws {
            var toGuest: [Int32] = [-1, -1], fromGuest: [Int32] = [-1, -1]
            guard pipe(&toGuest) == 0, pipe(&fromGuest) == 0 else { throw POSIXError(.EMFILE) }
            connection = GuestConnection(input: toGuest[1], output: fromGuest[0])
            fromHarness = toGuest[0]
            toHarness = fromGuest[1]
        }

        /// The next request the harness sent, read on a thread of its own (a blocking read
        /// must not hold one of the few threads of Swift's pool); the suite's time limit bounds it.
        func nextRequest() async throws -> RequestFrame {
            try await withCheckedThrowingContinuation { continuation in
                Thread.detachNewThread { [self] in continuation.resume(with: Result { try readRequest() }) }
            }
        }

        private func readRequest() throws -> RequestFrame {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fromHarness, $0.baseAddress, $0.count) }
                guard count > 0 else { throw POSIXError(.EPIPE) }
                for case .line(let line) in reader.feed(buffer[0..<count]) {
                    return try FrameCodec().decode(RequestFrame.self, from: line).get()
                }
            }
        }

        func answer(_ frame: ResponseFrame) throws {
            let bytes = try FrameCodec().encode(frame)
            _ = bytes.withUnsafeBytes { write(toHarness, $0.baseAddress, $0.count) }
        }

        func close() {
            connection.close()
            Glibc.close(toHarness)
            Glibc.close(fromHarness)
        }
    }

    @Test("a call past its deadline throws deadlinePassed on time; a late answer is dropped, not a violation, and the next call works")
    func callDeadline() async throws {
        let guest = try SilentGuest()
        defer { guest.close() }
        let began = ContinuousClock.now
        do {
            _ = try await guest.connection.call(.listFiles(PathRequest(path: ".")), deadline: began + .milliseconds(200))
            Issue.record("a call nobody answered returned")
        } catch {
            #expect(error.kind == .deadlinePassed, "\(error)")
        }
        // On time, not never: the upper bound leaves room for a pool that both cores' worth of
        // other tests keep busy (the wake-up itself needs one of its threads).
        let waited = ContinuousClock.now - began
        #expect(waited >= .milliseconds(200) && waited < .seconds(5), "waited \(waited)")

        let unanswered = try await guest.nextRequest()
        try guest.answer(ResponseFrame(id: unanswered.id, response: .ok))
        let next = Task { try await guest.connection.call(.listFiles(PathRequest(path: ".")), deadline: .now + .seconds(10)) }
        let second = try await guest.nextRequest()
        try guest.answer(ResponseFrame(id: second.id, response: .ok))
        #expect(try await next.value == .ok)
        #expect(guest.connection.violations.isEmpty, "\(guest.connection.violations)")
    }

    @Test("an exec past its deadline is cancelled in the guest and throws deadlinePassed; its output so far is not an answer")
    func execDeadline() async throws {
        let guest = try SilentGuest()
        defer { guest.close() }
        let began = ContinuousClock.now
        let exec = Task { () throws(SandboxError) -> ExecResult in
            try await guest.connection.exec(ExecRequest(argv: ["sleep", "60"]), deadline: began + .milliseconds(300))
        }
        let request = try await guest.nextRequest()
        guard case .exec = request.request else { Issue.record("expected an exec, got \(request.request)"); return }
        try guest.answer(ResponseFrame(id: request.id, response: .stdout(OutputChunk(data: Data("partial".utf8)))))
        let cancel = try await guest.nextRequest()
        #expect(cancel.request == .cancel(CancelRequest(target: request.id)))
        #expect(ContinuousClock.now - began >= .milliseconds(300))
        let outcome = await exec.result
        guard case .failure(let error) = outcome else { Issue.record("the exec returned: \(outcome)"); return }
        #expect((error as? SandboxError)?.kind == .deadlinePassed, "\(error)")
    }

    @Test("an answer before the deadline returns normally and nothing fires later")
    func answeredInTime() async throws {
        let guest = try SilentGuest()
        defer { guest.close() }
        // Room for the answer even when the whole suite loads both cores (300 ms was not).
        let deadline = ContinuousClock.now + .seconds(3)
        let call = Task { try await guest.connection.call(.listFiles(PathRequest(path: ".")), deadline: deadline) }
        let request = try await guest.nextRequest()
        try guest.answer(ResponseFrame(id: request.id, response: .ok))
        #expect(try await call.value == .ok)
        // Past the old deadline the connection still takes calls: no stray stop of a later one.
        try await Task.sleep(until: deadline + .milliseconds(200), clock: .continuous)
        let again = Task { try await guest.connection.call(.listFiles(PathRequest(path: "."))) }
        let second = try await guest.nextRequest()
        try guest.answer(ResponseFrame(id: second.id, response: .ok))
        #expect(try await again.value == .ok)
    }
}
