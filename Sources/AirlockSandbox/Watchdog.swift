import AirlockStreams
import Glibc

/// Deadlines for the whole process, checked by one thread every `tick` while any is armed
/// (and for `linger` after the last, so a busy loop never puts it to sleep and wakes it again).
///
/// Why not a task racing a `Task.sleep`: that costs a task, a timer and thread wake-ups on
/// every call, a large part of a step's overhead in the agent loop (`airlock-bench loop`).
/// Arming here is a lock and a dictionary insert. A deadline fires up to one tick late.
public final class Watchdog: @unchecked Sendable {
    public static let shared = Watchdog()

    public struct Token: Sendable, Hashable {
        fileprivate let value: UInt64
    }

    private let tick: Duration
    private let linger: Duration
    // Guarded by `condition`.
    private let condition = ConditionLock()
    private var armed: [UInt64: (deadline: ContinuousClock.Instant, fire: @Sendable () -> Void)] = [:]
    private var next: UInt64 = 0
    private var running = false
    private var asleep = false

    public init(tick: Duration = .milliseconds(10), linger: Duration = .seconds(1)) {
        self.tick = tick
        self.linger = linger
    }

    /// Calls `fire` once `deadline` has passed, unless `disarm` came first. It runs on the
    /// watchdog's one thread, which serves every deadline of the process: it must be quick
    /// and must never block (no I/O, no lock that I/O may hold).
    public func arm(_ deadline: ContinuousClock.Instant, _ fire: @escaping @Sendable () -> Void) -> Token {
        condition.lock()
        defer { condition.unlock() }
        next += 1
        armed[next] = (deadline, fire)
        if !running {
            running = true
            OSThread.start(name: "airlock-watchdog") { [self] in watch() }
        } else if asleep {
            condition.signal()
        }
        return Token(value: next)
    }

    public func disarm(_ token: Token) {
        condition.lock()
        armed[token.value] = nil
        condition.unlock()
    }

    private func watch() {
        var idleSince = ContinuousClock.now
        condition.lock()
        while true {
            if armed.isEmpty {
                if ContinuousClock.now - idleSince >= linger {
                    asleep = true
                    while armed.isEmpty { condition.wait() }
                    asleep = false
                }
            }
            condition.unlock()
            usleep(UInt32(tick.components.seconds) * 1_000_000 + UInt32(tick.components.attoseconds / 1_000_000_000_000))
            condition.lock()
            let now = ContinuousClock.now
            let due = armed.filter { $0.value.deadline <= now }
            for key in due.keys { armed[key] = nil }
            if !armed.isEmpty || !due.isEmpty { idleSince = now }
            if !due.isEmpty {
                condition.unlock()
                for entry in due.values { entry.fire() }
                condition.lock()
            }
        }
    }
}
