/// What a sandbox sees as its system: the host's own read-only `/usr` (and friends), or
/// the unpacked tree of an OCI image. Every backend honours it the same way.
public enum SandboxRoot: Sendable, Hashable {
    case host
    case image(ImageRoot)
}

/// An image unpacked in the store, as a sandbox uses it. A value: the image store fills
/// it in; backends only read it.
public struct ImageRoot: Sendable, Hashable {
    /// How the sandbox's writes to `/` are kept away from the shared tree.
    public enum WritableRoot: String, Sendable, Hashable, CaseIterable {
        /// Read-only: writes outside /workspace, /tmp and $HOME fail.
        case readOnly = "read-only"
        /// An overlay whose upper layer is private to the sandbox and thrown away.
        case overlay
        /// A private copy of the tree (reflinks where the file system has them).
        case copy
    }

    /// The unpacked root file system on the host; read-only and shared by every sandbox
    /// of this image.
    public var rootfs: String
    /// The image's manifest digest (`sha256:…`), recorded in the ledger.
    public var digest: String
    /// The image config's `Env`; the harness's own variables win on conflict.
    public var environment: [String: String]
    /// The image config's `WorkingDir`; nil means `/workspace`.
    public var workingDirectory: String?
    /// The image config's `User` (`uid[:gid]` or a name the image's /etc/passwd knows).
    public var user: String?
    public var writable: WritableRoot
    /// `user` resolved against the image's /etc/passwd (the store does it at import);
    /// nil with a `user` set means the image does not know it, and the start fails.
    public var uid: UInt32?
    public var gid: UInt32?
    /// Where per-sandbox copies go (`.copy`); the image store's `roots/`.
    public var scratchDirectory: String?

    public init(rootfs: String, digest: String, environment: [String: String] = [:],
                workingDirectory: String? = nil, user: String? = nil, writable: WritableRoot = .readOnly,
                uid: UInt32? = nil, gid: UInt32? = nil, scratchDirectory: String? = nil) {
        self.rootfs = rootfs
        self.digest = digest
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.writable = writable
        self.uid = uid
        self.gid = gid
        self.scratchDirectory = scratchDirectory
    }
}
