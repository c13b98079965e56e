import Foundation
import Glibc

/// An exclusive lock on one run, held by the harness process driving it. It is an
/// flock(2) on a file in the state dir, so it dies with its holder: a SIGKILLed harness
/// leaves a run that any other harness can resume, and two live harnesses never drive the
/// same run.
public final class RunLock: Sendable {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Takes the lock, or returns nil when a live process holds it.
    public static func acquire(run: String, stateDirectory: URL) throws -> RunLock? {
        let directory = stateDirectory.appendingPathComponent("locks", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let path = directory.appendingPathComponent(run + ".lock").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        // Who holds it, for the message another harness prints.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
        return RunLock(fd: fd, path: path)
    }

    /// Whether a live process holds the run's lock (without taking it).
    public static func isHeld(run: String, stateDirectory: URL) -> Bool {
        let path = stateDirectory.appendingPathComponent("locks/\(run).lock").path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return true
    }

    /// The pid written by the holder, for messages.
    public static func holder(run: String, stateDirectory: URL) -> String? {
        let path = stateDirectory.appendingPathComponent("locks/\(run).lock").path
        return (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
