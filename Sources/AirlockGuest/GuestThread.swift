import Glibc

/// Runs a closure on its own OS thread. Requests block in poll(2) and wait4(2); they get
/// real threads instead of a shared pool that blocking calls would starve.
enum GuestThread {
    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let box = Unmanaged<Box>.fromOpaque(argument).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if result == 0 {
            pthread_detach(thread)
        } else {
            // No thread: run inline rather than drop the request.
            Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
        }
    }
}
