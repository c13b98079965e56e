import AirlockCore
import Synchronization

/// The last entry this process committed for each run: the next commit chains to it
/// without reading it back (a read per commit was 7 µs of a step's ~100 µs commit on tmpfs).
/// Set only after a COMMIT went through, so it is never ahead of the file; when it is
/// behind (another process appended), the store notices by the primary key and reads.
final class LedgerTails: Sendable {
    private let tails = Mutex<[String: (seq: Int, hash: String)]>([:])
    /// Runs remembered at most: a long-lived worker forgets them all past this (they are
    /// read again when needed).
    static let limit = 4096

    func tail(of run: String) -> (seq: Int, hash: String)? {
        tails.withLock { $0[run] }
    }

    func committed(run: String, _ entries: [LedgerEntry]) {
        guard let last = entries.last else { return }
        tails.withLock { tails in
            if tails.count >= Self.limit, tails[run] == nil { tails.removeAll(keepingCapacity: true) }
            tails[run] = (last.seq, last.hash)
        }
    }

    func forget(run: String) {
        _ = tails.withLock { $0.removeValue(forKey: run) }
    }
}
