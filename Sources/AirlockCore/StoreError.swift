/// Faults of the store. A missing or ambiguous run is the user's to fix, so the message says how.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    case runNotFound(String)
    case ambiguousRun(String, candidates: [String])
    case toolCallNotFound(run: String, callID: String)
    case walUnavailable(String)
    case internalError(String)
    /// Another live harness process is driving the run.
    case runLocked(String)

    public var description: String {
        switch self {
        case .runNotFound(let ref):
            return "no run matches \"\(ref)\" (see `airlock runs`)"
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
        case .internalError(let message):
            return "store: \(message)"
        }
    }
}
