/// A process to start: argv, and data to hand it on numbered file descriptors (bwrap reads
/// its seccomp program and generated files such as /etc/passwd from them).
public struct LaunchPlan: Sendable, Hashable {
    public var argv: [String]
    /// fd number in the child → bytes to make readable there.
    public var dataFiles: [Int32: [UInt8]]
    /// A root harness binds this host path on `bindTarget` in a private mount namespace
    /// before dropping to the sandbox uid (an image tree under a root-only directory).
    public var bindSource: String?
    public var bindTarget: String?
    /// Instead of that bind: an overlay on `bindTarget` whose lower layer is an idmapped
    /// clone of `idmapSource` at `idmapTarget` (root-owned files shown as the sandbox uid's).
    public var overlay: OverlayMount?

    public struct OverlayMount: Sendable, Hashable {
        public var idmapSource: String
        public var idmapTarget: String
        public var usernsFD: Int32
        public var options: String

        public init(idmapSource: String, idmapTarget: String, usernsFD: Int32, options: String) {
            self.idmapSource = idmapSource
            self.idmapTarget = idmapTarget
            self.usernsFD = usernsFD
            self.options = options
        }
    }

    public init(argv: [String], dataFiles: [Int32: [UInt8]] = [:]) {
        self.argv = argv
        self.dataFiles = dataFiles
    }
}
