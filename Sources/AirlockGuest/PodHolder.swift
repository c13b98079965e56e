import Glibc

/// Which sandbox holds a pod now: the guest started with `--holder ID` writes ID to
/// /run/airlock/holder (a small emptyDir of the pod). A harness that lost its pod to a resumed run (a
/// worker whose lease lapsed while it still lived) asks for the workspace with `--pack DIR
/// --holder ITS-ID`, is refused (exit 77), and then leaves the pod alone: it neither copies
/// the new holder's work over the host workspace nor deletes the pod under it.
public enum PodHolder {
    /// Exit status of `--pack` for a pod another sandbox holds.
    public static let takenOverStatus: Int32 = 77

    /// In the pod's writable run-time volume (the guest's own volume is read-only there).
    static let directory = "/run/airlock"
    static let path = directory + "/holder"

    /// Records `id` as the holder (written aside, then renamed: never half a name).
    public static func claim(_ id: String) -> Bool {
        let temporary = path + ".\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return false }
        let bytes = Array(id.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            unlink(temporary)
            return false
        }
        return true
    }

    /// The holder recorded, if any.
    public static func current() -> String? {
        let text = ProcFiles.text(path, followLinks: false)
        return text.isEmpty ? nil : text
    }
}
