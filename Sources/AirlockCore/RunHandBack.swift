import Synchronization

/// A flag a draining worker raises to hand its runs back; each run's watcher reads it.
public final class RunHandBack: Sendable {
    private let raised = Atomic<Bool>(false)

    public init() {}

    public func raise() { raised.store(true, ordering: .relaxed) }

    public var isRaised: Bool { raised.load(ordering: .relaxed) }
}
