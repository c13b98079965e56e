import CAirlockSys
import Glibc

/// Starts a closure on an OS thread of its own, for work that blocks (a stream's pump in
/// poll(2), a pipe's reader, a reaper in waitpid) and must not starve Swift's small pool.
/// Plain pthreads: it works in the static guest and the lean `airlock-exec`, which carry
/// FoundationEssentials only (no Foundation `Thread`).
package enum OSThread {
    private final class Box {
        let body: @Sendable () -> Void
        let name: String?
        init(_ body: @escaping @Sendable () -> Void, name: String?) {
            self.body = body
            self.name = name
        }
    }

    /// False when no thread could be made (the body did not run). `name` shows in `ps -L`
    /// and profiles (the kernel keeps its first 15 bytes). A refusal for want of resources
    /// (EAGAIN: the thread limit, for a moment) is retried for about half a second.
    @discardableResult
    package static func start(name: String? = nil, _ body: @escaping @Sendable () -> Void) -> Bool {
        let box = Unmanaged.passRetained(Box(body, name: name)).toOpaque()
        var thread = pthread_t()
        var result: Int32 = 0
        for attempt in 0..<50 {
            if attempt > 0 { usleep(10_000) }
            result = pthread_create(&thread, nil, { argument in
                guard let argument else { return nil }
                let box = Unmanaged<Box>.fromOpaque(argument).takeRetainedValue()
                if let name = box.name { airlock_name_thread(name) }
                box.body()
                return nil
            }, box)
            if result != EAGAIN { break }
        }
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return false
        }
        pthread_detach(thread)
        return true
    }
}

/// A mutex with a condition variable (what Foundation's `NSCondition` is), for the few
/// threads that sleep until another wakes them.
package final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    package func lock() { pthread_mutex_lock(mutex) }
    package func unlock() { pthread_mutex_unlock(mutex) }
    /// Unlocks, sleeps until signalled (or spuriously), locks again.
    package func wait() { pthread_cond_wait(condition, mutex) }
    package func signal() { pthread_cond_signal(condition) }
    package func broadcast() { pthread_cond_broadcast(condition) }
}
