import AirlockModels
import Foundation

/// Recomputes a ledger's hash chain from its stored columns and names the first entry that
/// was edited, removed, inserted or reordered.
public enum LedgerVerifier {
    /// `entries` in the order read (seq order from the store, line order from an export).
    /// `run` defaults to the first entry's run.
    public static func verify(entries: [LedgerEntry], run: String? = nil) -> VerifyReport {
        let expectedRun = run ?? entries.first?.run
        var previousHash = LedgerEntry.genesisHash
        for (index, entry) in entries.enumerated() {
            let expectedSeq = index + 1
            if let problem = problem(in: entry, expectedSeq: expectedSeq, expectedRun: expectedRun,
                                     previousHash: previousHash) {
                return VerifyReport(ok: false, count: entries.count, firstBadSeq: expectedSeq,
                                    reason: problem, headHash: index > 0 ? previousHash : nil)
            }
            previousHash = entry.hash
        }
        return VerifyReport(ok: true, count: entries.count,
                            headHash: entries.isEmpty ? nil : previousHash)
    }

    /// Reads and verifies a JSONL export on its own, without the database.
    public static func verify(jsonlFile url: URL) throws -> VerifyReport {
        let data = try Data(contentsOf: url)
        return verify(jsonl: String(decoding: data, as: UTF8.self))
    }

    public static func verify(jsonl text: String) -> VerifyReport {
        switch LedgerJSONL.decode(text) {
        case .success(let entries):
            return verify(entries: entries)
        case .failure(let failure):
            return VerifyReport(ok: false, count: failure.entriesBefore, firstBadSeq: failure.entriesBefore + 1,
                                reason: failure.description)
        }
    }

    /// Checks in the order that names the cause best: place in the chain, then link, then content.
    static func problem(in entry: LedgerEntry, expectedSeq: Int, expectedRun: String?,
                        previousHash: String) -> String? {
        if let expectedRun, entry.run != expectedRun {
            return "entry \(entry.seq) belongs to run \(entry.run), not \(expectedRun)"
        }
        if entry.seq > expectedSeq {
            return "seq gap: entry \(expectedSeq) is missing (the next entry is \(entry.seq))"
        }
        if entry.seq < expectedSeq {
            return "seq out of order: expected \(expectedSeq), found \(entry.seq)"
        }
        if entry.prevHash != previousHash {
            return expectedSeq == 1
                ? "prev_hash of the first entry is not the genesis hash (64 zeros)"
                : "prev_hash does not match the hash of entry \(expectedSeq - 1)"
        }
        let payload: JSONValue
        do {
            payload = try JSONValue(parsing: entry.payloadJSON)
        } catch {
            return "payload is not valid JSON (\(error))"
        }
        if payload.canonicalJSON != entry.payloadJSON {
            return "payload is not in canonical form"
        }
        guard let recomputed = entry.recomputedHash else {
            return "prev_hash is not 64 lowercase hex digits"
        }
        if recomputed != entry.hash {
            return "hash mismatch: the entry's run, seq, time, kind or payload was changed"
        }
        return nil
    }
}
