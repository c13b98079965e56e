/// Why a sandbox could not be started or used. A command's own failure is never one of
/// these: that is an `ExitStatus`.
public struct SandboxError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case unavailable      // the host lacks something (bwrap, user namespaces, cgroups)
        case configuration    // a bad workspace, a limit that cannot be enforced
        case startFailed      // the sandbox process failed before the guest greeted
        case guestDied        // the guest or the sandbox ended mid-call
        case protocolViolation // the guest sent something it must not
        case deadlinePassed   // the harness stopped waiting for the answer (`deadline:` of a call)
    }
    public var kind: Kind
    public var message: String
    /// What to do about it, when there is something to do.
    public var fix: String?

    public init(_ kind: Kind, _ message: String, fix: String? = nil) {
        self.kind = kind
        self.message = message
        self.fix = fix
    }

    public var description: String {
        fix.map { "\(message)\nfix: \($0)" } ?? message
    }
}
