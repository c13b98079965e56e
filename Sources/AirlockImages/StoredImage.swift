/// What the store keeps about one unpacked image (`image.json` beside its rootfs).
public struct StoredImage: Codable, Sendable, Hashable {
    public struct Layer: Codable, Sendable, Hashable {
        public var digest: Digest
        public var diffID: Digest
        public var size: Int
        public var mediaType: String?
    }

    /// The manifest digest: the image's identity in the store and in the ledger.
    public var digest: Digest
    public var configDigest: Digest
    public var layers: [Layer]
    /// Bytes of the unpacked tree (sum of regular files).
    public var size: Int
    public var entries: Int
    public var environment: [String]
    public var workingDirectory: String?
    public var user: String?
    /// `User` resolved against the image's /etc/passwd and /etc/group; nil when it names
    /// nobody the image knows.
    public var uid: UInt32?
    public var gid: UInt32?
    public var entrypoint: [String]?
    public var command: [String]?
    public var created: String?
    public var architecture: String?
    public var source: String
    public var importedAt: String

    /// `Env` as a dictionary (later entries win, as in a shell).
    public var environmentMap: [String: String] {
        var map: [String: String] = [:]
        for entry in environment {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = parts.first, !key.isEmpty else { continue }
            map[String(key)] = parts.count > 1 ? String(parts[1]) : ""
        }
        return map
    }
}
