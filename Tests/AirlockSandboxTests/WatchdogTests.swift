import AirlockSandbox
import Foundation
import Synchronization
import Testing

/// The process-wide deadline thread that bounds guest calls (`GuestConnection.call(_:deadline:)`).
@Suite("Watchdog", .timeLimit(.minutes(1)))
struct WatchdogTests {
    /// When each armed deadline fired, by index.
    final class Fired: Sendable {
        let times = Mutex<[Int: ContinuousClock.Instant]>([:])
        func record(_ index: Int) { times.withLock { $0[index] = $0[index] ?? .now } }
        var count: Int { times.withLock { $0.count } }
        func time(_ index: Int) -> ContinuousClock.Instant? { times.withLock { $0[index] } }
    }

    @Test("a deadline fires once, never before it, within a few ticks after")
    func firesAfterTheDeadline() async throws {
        let watchdog = Watchdog(tick: .milliseconds(10), linger: .milliseconds(100))
        let fired = Fired()
        let deadline = ContinuousClock.now + .milliseconds(150)
        _ = watchdog.arm(deadline) { fired.record(0) }
        try await Task.sleep(for: .milliseconds(600))
        let at = try #require(fired.time(0))
        #expect(at >= deadline)
        #expect(at - deadline < .milliseconds(300), "fired \(at - deadline) late")
    }

    @Test("a disarmed deadline never fires; others armed beside it do")
    func disarmedNeverFires() async throws {
        let watchdog = Watchdog(tick: .milliseconds(10), linger: .milliseconds(100))
        let fired = Fired()
        let kept = watchdog.arm(.now + .milliseconds(50)) { fired.record(1) }
        let dropped = watchdog.arm(.now + .milliseconds(100)) { fired.record(2) }
        watchdog.disarm(dropped)
        try await Task.sleep(for: .milliseconds(400))
        #expect(fired.time(1) != nil)
        #expect(fired.time(2) == nil)
        watchdog.disarm(kept) // after it fired: nothing happens
    }

    @Test("many deadlines at once each fire exactly once, also after the thread went to sleep")
    func manyAndAfterSleep() async throws {
        let watchdog = Watchdog(tick: .milliseconds(10), linger: .milliseconds(50))
        let fired = Fired()
        let calls = Atomic<Int>(0)
        for index in 0..<50 {
            _ = watchdog.arm(.now + .milliseconds(20 + index * 2)) {
                calls.add(1, ordering: .relaxed)
                fired.record(index)
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(fired.count == 50)
        // Past the linger the thread waits for work; a new deadline must wake it.
        _ = watchdog.arm(.now + .milliseconds(30)) {
            calls.add(1, ordering: .relaxed)
            fired.record(50)
        }
        try await Task.sleep(for: .milliseconds(400))
        #expect(fired.time(50) != nil)
        #expect(calls.load(ordering: .relaxed) == 51)
    }
}
