import AirlockModels

/// One row of the ledger as stored. `payloadJSON` is the exact stored text, which for an
/// untampered entry is the canonical JSON of `payload`.
public struct LedgerEntry: Sendable, Hashable {
    public var run: String
    public var seq: Int
    /// RFC 3339 UTC with milliseconds.
    public var time: String
    public var kind: LedgerKind
    public var payloadJSON: String
    /// Lowercase hex of the previous entry's hash; 64 zeros for seq 1.
    public var prevHash: String
    /// Lowercase hex of SHA-256(prev hash bytes ‖ canonical bytes).
    public var hash: String

    public init(run: String, seq: Int, time: String, kind: LedgerKind, payloadJSON: String,
                prevHash: String, hash: String) {
        self.run = run
        self.seq = seq
        self.time = time
        self.kind = kind
        self.payloadJSON = payloadJSON
        self.prevHash = prevHash
        self.hash = hash
    }

    /// The payload parsed back; `.null` if the stored text is not JSON (verify reports that).
    public var payload: JSONValue {
        (try? JSONValue(parsing: payloadJSON)) ?? .null
    }
}
