/// Faults of the store. A missing or ambiguous run is the user's to fix, so the message says how.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    case runNotFound(String)
    case batchNotFound(String)
    case ambiguousBatch(String, candidates: [String])
    case ambiguousRun(String, candidates: [String])
    case toolCallNotFound(run: String, callID: String)
    case walUnavailable(String)
    case internalError(String)
    /// Another live harness process is driving the run.
    case runLocked(String)
    /// Another harness claimed the run since this one did: its writes are refused.
    case fenced(run: String, epoch: Int)
    /// The database holds a schema newer than this build knows.
    case schemaTooNew(found: Int, known: Int)
    /// The database holds tables that are not Airlock's.
    case foreignDatabase(String)
    /// The database could not be reached or refused us; the message names the fix.
    case unavailable(String)

    public var description: String {
        switch self {
        case .runNotFound(let ref):
            return "no run matches \"\(ref)\" (see `airlock runs`)"
        case .batchNotFound(let ref):
            return "no batch matches \"\(ref)\" (see `airlock batch list`)"
        case .ambiguousBatch(let ref, let candidates):
            return "\"\(ref)\" matches \(candidates.count) batches: "
                + candidates.prefix(5).joined(separator: ", ") + "; give more of the id"
        case .ambiguousRun(let ref, let candidates):
            return "\"\(ref)\" matches \(candidates.count) runs: "
                + candidates.prefix(5).joined(separator: ", ") + "; give more of the id"
        case .toolCallNotFound(let run, let callID):
            return "run \(run) has no tool call \(callID)"
        case .walUnavailable(let mode):
            return "the state database could not use WAL journaling (got \(mode)); "
                + "is the state directory on a network file system?"
        case .runLocked(let run):
            return "run \(run) is held by another live harness process; it cannot be driven twice at once"
        case .fenced(let run, let epoch):
            return "run \(run) was taken over by another harness (epoch \(epoch) is no longer current); this harness may not write to it"
        case .schemaTooNew(let found, let known):
            return "the database's schema is version \(found), newer than this airlock knows (\(known)); upgrade airlock"
        case .foreignDatabase(let detail):
            return "the database holds tables that are not Airlock's (\(detail)); give Airlock an empty database of its own"
        case .unavailable(let message):
            return message
        case .internalError(let message):
            return "store: \(message)"
        }
    }
}
