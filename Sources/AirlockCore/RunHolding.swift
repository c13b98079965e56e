/// How the harness driving a run holds it. A local `airlock run` holds it by its process
/// (and, on SQLite, a file lock); a worker holds a claim whose lease it renews on database
/// time. Either way the holder watches for a stop request.
public struct RunHolding: Sendable {
    /// The worker's claim, or nil for a local run.
    public var claim: RunClaim?
    /// How long a claim lasts without renewal; renewed every third of it.
    public var lease: Duration
    /// How often the holder looks for a stop request: the bound on how late a stop lands.
    public var poll: Duration
    /// Set by a draining worker to hand its runs back (see `RunInterrupt.handBack`).
    public var handBack: RunHandBack?

    public init(claim: RunClaim? = nil, lease: Duration = .seconds(15), poll: Duration = .milliseconds(20),
                handBack: RunHandBack? = nil) {
        self.claim = claim
        self.lease = lease
        self.poll = poll
        self.handBack = handBack
    }

    public static let local = RunHolding()
}

/// Why a run's holder stopped driving it from outside the loop.
public enum RunInterrupt: Sendable, Hashable {
    /// Someone asked it to stop: the run ends `terminated` (exit 4), who and why recorded.
    case stop(StopRequest)
    /// Another harness claimed it since: nothing more may be written; the sandbox is killed.
    case lost(epoch: Int)
    /// A draining worker gives it back unfinished, for another worker to resume.
    case handBack
}
