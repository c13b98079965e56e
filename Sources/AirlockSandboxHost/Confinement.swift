import AirlockSandbox
import CAirlockSys
import Glibc

/// What a sandbox with no namespaces applies to itself between fork and exec: resource
/// limits, a Landlock domain, stacked seccomp filters, its own session, and the
/// environment and directory it starts in (bwrap sets those inside; here nobody else can).
package struct Confinement: Sendable {
    /// The ruleset fd is installed at this number in the child, restricted, then closed.
    package static let rulesetFD: Int32 = 3

    package var rlimits: [(resource: Int32, value: UInt64)]
    /// A Landlock ruleset fd in the harness (closed by the caller after the spawn).
    package var landlockRuleset: Int32?
    package var filters: [[UInt8]]
    package var environment: [String: String]
    package var workingDirectory: String?
    package var noNewPrivileges = true
    /// Sent to the child when the harness dies; 0 lets a guest see its stdin close and
    /// clean up its session first (the Landlock tier).
    package var parentDeathSignal: Int32 = SIGKILL
    /// Run in a private mount namespace without this mount (see airlock_confine.h).
    package var detachMount: String?

    package init(rlimits: [(resource: Int32, value: UInt64)] = [], landlockRuleset: Int32? = nil, filters: [[UInt8]] = [],
                 environment: [String: String] = [:], workingDirectory: String? = nil) {
        self.rlimits = rlimits
        self.landlockRuleset = landlockRuleset
        self.filters = filters
        self.environment = environment
        self.workingDirectory = workingDirectory
    }

    /// Calls `body` with the C description; every pointer lives only for the call (the
    /// child is forked inside it and copies what it needs).
    package func withC<R>(_ body: (UnsafePointer<airlock_confinement>) -> R) -> R {
        let limits = rlimits.map { airlock_rlimit(resource: $0.resource, value: $0.value) }
        let sizes = filters.map { Int32($0.count) }
        // Stable copies of each program for the call.
        let programs = filters.map { bytes -> UnsafeMutablePointer<UInt8> in
            let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
            pointer.initialize(from: bytes, count: bytes.count)
            return pointer
        }
        defer { programs.forEach { $0.deallocate() } }
        let constPrograms: [UnsafePointer<UInt8>?] = programs.map { UnsafePointer($0) }
        return limits.withUnsafeBufferPointer { limitBuffer in
            sizes.withUnsafeBufferPointer { sizeBuffer in
                constPrograms.withUnsafeBufferPointer { programBuffer in
                    var confinement = airlock_confinement()
                    confinement.rlimits = limitBuffer.baseAddress
                    confinement.rlimit_count = Int32(limits.count)
                    confinement.landlock_ruleset_fd = landlockRuleset == nil ? -1 : Self.rulesetFD
                    confinement.filters = programBuffer.baseAddress
                    confinement.filter_sizes = sizeBuffer.baseAddress
                    confinement.filter_count = Int32(sizes.count)
                    confinement.no_new_privs = noNewPrivileges ? 1 : 0
                    guard let detachMount else { return body(&confinement) }
                    return detachMount.withCString { path in
                        confinement.detach_mount = path
                        return body(&confinement)
                    }
                }
            }
        }
    }
}
