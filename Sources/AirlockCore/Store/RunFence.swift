import AirlockModels

/// The claim a harness holds on a run: writes to `run` are accepted only while the run's
/// epoch is still `epoch`. Every claim bumps the epoch, so a harness that froze and lost its
/// lease finds its writes refused instead of interleaving with the new holder's.
public struct RunFence: Sendable, Hashable, Codable {
    public var run: String
    public var epoch: Int

    public init(run: String, epoch: Int) {
        self.run = run
        self.epoch = epoch
    }
}

/// A run a worker claimed: the fence to write under, and whether the run had started
/// before (a takeover, resumed from its ledger) or comes fresh from the queue.
public struct RunClaim: Sendable, Hashable {
    public var run: String
    public var epoch: Int
    public var worker: String
    /// The run was held by another harness whose lease expired.
    public var takeover: Bool

    public init(run: String, epoch: Int, worker: String, takeover: Bool) {
        self.run = run
        self.epoch = epoch
        self.worker = worker
        self.takeover = takeover
    }

    public var fence: RunFence { RunFence(run: run, epoch: epoch) }
}

/// What a lease renewal found.
public enum LeaseRenewal: Sendable, Hashable {
    /// Still ours; `stop` is set once someone asked the run to stop.
    case held(stop: StopRequest?)
    /// Another harness claimed the run since: stop acting on it at once.
    case lost(epoch: Int)
}

/// Who asked a run to stop, and why.
public struct StopRequest: Sendable, Hashable, Codable {
    public var by: String
    public var reason: String
    public var at: String

    public init(by: String, reason: String, at: String) {
        self.by = by
        self.reason = reason
        self.at = at
    }
}

/// A queued run's request: the options of `airlock run` it was submitted with (no secret:
/// only the names of the variables it needs) and those names.
public struct QueuedRequest: Sendable, Hashable {
    public var request: JSONValue
    public var needs: [String]

    public init(request: JSONValue, needs: [String]) {
        self.request = request
        self.needs = needs
    }
}

/// A worker's last heartbeat.
public struct WorkerInfo: Sendable, Hashable, Codable {
    public var name: String
    public var available: [String]
    public var seenAt: String

    public init(name: String, available: [String], seenAt: String) {
        self.name = name
        self.available = available
        self.seenAt = seenAt
    }
}
