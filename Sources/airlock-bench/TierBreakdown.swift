import AirlockOCI
import Foundation
import Synchronization

/// Where an OCI tier's start goes, step by step: the backend names each step as it ends
/// (`OCIBackend.phaseObserver`), and the bench keeps the time since the previous one.
final class TierBreakdown: Sendable {
    private let marks = Mutex<[(String, ContinuousClock.Instant)]>([])
    private let samples = Mutex<[String: [Double]]>([:])
    private let order = Mutex<[String]>([])

    /// The backend, reporting to this breakdown.
    func observe(_ backend: OCIBackend) -> OCIBackend {
        var backend = backend
        backend.phaseObserver = { [self] name in marks.withLock { $0.append((name, ContinuousClock.now)) } }
        return backend
    }

    /// Before a start.
    func begin() { marks.withLock { $0 = [("begin", ContinuousClock.now)] } }

    /// After the first result, `total` milliseconds after `begin` (the kill that followed
    /// is not counted): the steps, and the first exec as the last one.
    func end(total: Double) {
        var taken = marks.withLock { $0 }
        guard let first = taken.first else { return }
        taken.append(("first exec", first.1 + .microseconds(Int64(total * 1000))))
        for (previous, next) in zip(taken, taken.dropFirst()) {
            let milliseconds = Double((next.1 - previous.1).components.attoseconds) / 1e15
                + Double((next.1 - previous.1).components.seconds) * 1000
            samples.withLock { $0[next.0, default: []].append(milliseconds) }
            order.withLock { if !$0.contains(next.0) { $0.append(next.0) } }
        }
    }

    /// "checks 0.41, sweep 0.01, …" (medians, milliseconds).
    var summary: String {
        let all = samples.withLock { $0 }
        return order.withLock { $0 }.map { name in
            String(format: "%@ %.2f", name, Series(name: name, samples: all[name] ?? []).median)
        }.joined(separator: ", ")
    }
}
