import AirlockProtocol
import AirlockStreams
import Foundation
import Glibc
import Synchronization
import Testing

/// The stream pump on both sides, joined through real pipes and sockets: bytes arrive whole
/// and in order across split frames, half-closes pass, a reader that stops reading stops
/// the writer (no side buffers past the window), a peer that breaks the rules is reset, and
/// nothing waits forever when one end goes away.
@Suite("Egress streams", .timeLimit(.minutes(1)))
struct StreamTableTests {
    /// The harness side's "service": an echo on the other end of a socket pair.
    static func echo() -> StreamTable.Connect {
        {
            let (service, inner) = Sockets.pair()
            Thread.detachNewThread {
                var buffer = [UInt8](repeating: 0, count: 32768)
                while true {
                    let count = read(service, &buffer, buffer.count)
                    if count < 0 && errno == EINTR { continue }
                    if count <= 0 { break }
                    guard Sockets.writeAll(service, Array(buffer[0..<count]), within: .seconds(20)) else { break }
                }
                shutdown(service, Int32(SHUT_WR))
                close(service)
            }
            return inner
        }
    }

    @Test("3 MiB go through and come back equal, in frames split across reads; the half-close passes both ways")
    func echoRoundTrip() async throws {
        let link = StreamLink(connect: Self.echo())
        defer { link.close() }
        let (client, inner) = Sockets.pair()
        defer { close(client) }
        #expect(link.guest.open(inner))
        let payload = Sockets.random(3 << 20)
        let writer = Task.detached {
            let ok = Sockets.writeAll(client, payload, within: .seconds(30))
            shutdown(client, Int32(SHUT_WR))
            return ok
        }
        let (back, ended) = Sockets.readToEnd(client, within: .seconds(40))
        #expect(await writer.value)
        #expect(ended, "the echo's end (its half-close after ours) came through")
        #expect(back.count == payload.count)
        #expect(back == payload)
        #expect(await Sockets.eventually(within: .seconds(5)) { link.guest.count == 0 && link.host.count == 0 },
                "both ends of the stream are gone once both directions closed")
        #expect(link.violations.withLock { $0 }.isEmpty)
        let frames = link.frames.withLock { $0 }
        #expect((frames["stream_data"] ?? 0) >= 2 * (3 << 20) / StreamFrame.maxChunk, "\(frames)")
        #expect((frames["stream_credit"] ?? 0) > 0 && frames["stream_close"] == 2 && frames["stream_open"] == 1, "\(frames)")
    }

    @Test("a service that stops reading stops the client: nothing buffers past the window, and every byte arrives later")
    func backPressure() async throws {
        let services = Mutex<[Int32]>([])
        let link = StreamLink(connect: {
            let (service, inner) = Sockets.pair()
            services.withLock { $0.append(service) }
            return inner
        })
        defer { link.close() }
        let (client, inner) = Sockets.pair()
        defer { close(client) }
        _ = fcntl(client, F_SETFL, O_NONBLOCK)
        #expect(link.guest.open(inner))
        // Write without waiting until the pipe is full end to end (the service reads nothing).
        let chunk = [UInt8](repeating: 0x42, count: 65536)
        var written = 0
        var stalledSince: ContinuousClock.Instant?
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline, written < 256 << 20 {
            let count = chunk.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count > 0 {
                written += count
                stalledSince = nil
                continue
            }
            #expect(errno == EAGAIN)
            if let since = stalledSince, ContinuousClock.now - since > .milliseconds(700) { break }
            if stalledSince == nil { stalledSince = .now }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(written < 256 << 20, "the client was stopped (it wrote \(written) bytes)")
        #expect(link.host.bufferedBytes <= StreamFrame.window, "harness side holds \(link.host.bufferedBytes)")
        #expect(link.guest.bufferedBytes <= StreamFrame.window)
        let service = try #require(services.withLock { $0.first })
        defer { close(service) }
        shutdown(client, Int32(SHUT_WR))
        let (received, ended) = Sockets.readToEnd(service, within: .seconds(30))
        #expect(ended)
        #expect(received.count == written, "every byte written arrived once the service read")
    }

    @Test("the service ending mid-transfer ends the client's read at once; closing the table ends every stream")
    func endsDoNotHang() async throws {
        // The service sends 1 MiB of an announced 8 MiB, then closes.
        let link = StreamLink(connect: {
            let (service, inner) = Sockets.pair()
            Thread.detachNewThread {
                _ = Sockets.writeAll(service, [UInt8](repeating: 0x61, count: 1 << 20), within: .seconds(20))
                close(service)
            }
            return inner
        })
        defer { link.close() }
        let (client, inner) = Sockets.pair()
        defer { close(client) }
        #expect(link.guest.open(inner))
        let started = ContinuousClock.now
        let (bytes, ended) = Sockets.readToEnd(client, within: .seconds(20))
        #expect(ended && bytes.count == 1 << 20, "\(bytes.count) bytes, ended \(ended)")
        #expect(ContinuousClock.now - started < .seconds(15))

        // A second stream, idle, then the whole table closes (the sandbox going away).
        let echoLink = StreamLink(connect: Self.echo())
        let (idle, idleInner) = Sockets.pair()
        defer { close(idle) }
        #expect(echoLink.guest.open(idleInner))
        #expect(await Sockets.eventually(within: .seconds(5)) { echoLink.host.count == 1 })
        echoLink.close()
        let (_, idleEnded) = Sockets.readToEnd(idle, within: .seconds(5))
        #expect(idleEnded, "the client saw its connection end within the pump's bounded wait")
        #expect(await Sockets.eventually(within: .seconds(3)) { echoLink.guest.count == 0 && echoLink.host.count == 0 })
        #expect(!echoLink.guest.open(Sockets.pair().0), "a closed table opens nothing")
    }

    @Test("a peer that sends past its window, opens from the wrong side or credits too much is reset and reported")
    func rulesEnforced() async throws {
        let sent = Mutex<[StreamFrame]>([])
        let (service, inner) = Sockets.pair()
        defer { close(service) }
        // The connect is slow, so nothing is written (or credited) while the frames arrive.
        let host = StreamTable(send: { frame in sent.withLock { $0.append(frame) }; return true },
                               connect: { usleep(500_000); return inner })
        defer { host.closeAll() }
        #expect(host.deliver(.open(1)) == nil)
        let chunk = Data(repeating: 7, count: StreamFrame.maxChunk)
        for _ in 0..<(StreamFrame.window / StreamFrame.maxChunk) { #expect(host.deliver(.data(1, chunk)) == nil) }
        #expect(host.bufferedBytes == StreamFrame.window)
        let fault = host.deliver(.data(1, Data([1])))
        #expect(fault?.contains("window") == true, "\(String(describing: fault))")
        #expect(sent.withLock { $0 }.contains { $0.kind == .reset && $0.stream == 1 })

        #expect(host.deliver(.open(2)) == nil)
        #expect(host.deliver(.open(2))?.contains("open") == true, "a duplicate open is refused")
        #expect(host.deliver(.credit(2, 1))?.contains("credited") == true)

        let guest = StreamTable(send: { frame in sent.withLock { $0.append(frame) }; return true })
        #expect(guest.deliver(.open(9)) != nil, "only the guest opens streams")
        #expect(sent.withLock { $0 }.contains { $0.kind == .reset && $0.stream == 9 })
        #expect(guest.deliver(.data(12345, Data([1]))) == nil, "late frames of an ended stream are dropped quietly")
    }
}
