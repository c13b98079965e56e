/// The outcome of recomputing a ledger chain. Not ok names the first entry that fails and why.
public struct VerifyReport: Sendable, Hashable, Codable, CustomStringConvertible {
    public var ok: Bool
    /// Entries read.
    public var count: Int
    /// The seq of the first entry that was edited, is missing, or is out of place.
    public var firstBadSeq: Int?
    public var reason: String?
    /// The last good hash: with the count, it pins the whole chain (keep it elsewhere to
    /// detect a cut-off tail).
    public var headHash: String?

    public init(ok: Bool, count: Int, firstBadSeq: Int? = nil, reason: String? = nil,
                headHash: String? = nil) {
        self.ok = ok
        self.count = count
        self.firstBadSeq = firstBadSeq
        self.reason = reason
        self.headHash = headHash
    }

    public var description: String {
        if ok { return "ok: \(count) entries, head \(headHash ?? "-")" }
        return "FAILED at seq \(firstBadSeq.map(String.init) ?? "?"): \(reason ?? "unknown")"
    }

    enum CodingKeys: String, CodingKey {
        case ok, count, reason
        case firstBadSeq = "first_bad_seq"
        case headHash = "head_hash"
    }
}
