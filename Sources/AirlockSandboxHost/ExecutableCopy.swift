import Glibc

/// Copies a file that will be executed, in a child process (`cp`).
///
/// Linux refuses to exec a file that any process holds open for writing (ETXTBSY). If the
/// harness wrote the copy itself, a sandbox forked by another thread at that moment would
/// inherit the writable descriptor and keep it until its exec, or for its whole life, and
/// sandboxes started meanwhile would fail with "Text file busy". Written by `cp`, the
/// descriptor lives only in `cp`, which has exited before the copy is renamed into place.
package enum ExecutableCopy {
    package static func copy(_ source: String, to target: String) throws(SandboxErrorProxy) {
        guard let cp = ExecutableLookup.find("cp") else { throw SandboxErrorProxy("cp was not found on PATH") }
        // No timeout: a slow disk makes a slow copy, not a failed one.
        guard let run = ExecutableLookup.run(cp, ["--", source, target], timeout: nil) else {
            throw SandboxErrorProxy("cannot run cp")
        }
        guard run.succeeded else { throw SandboxErrorProxy("cp \(source) \(target) failed: " + run.output.trimmingSpaces) }
        chmod(target, 0o755)
    }
}
