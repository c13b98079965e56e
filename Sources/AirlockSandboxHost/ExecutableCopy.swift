import Foundation
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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: cp)
        process.arguments = ["--", source, target]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        do { try process.run() } catch { throw SandboxErrorProxy("cannot run cp: \(error)") }
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw SandboxErrorProxy("cp \(source) \(target) failed: "
                + String(decoding: message, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        chmod(target, 0o755)
    }
}
