import AirlockSandbox
import CAirlockSeccomp
import CAirlockSys
import Glibc

/// The seccomp program every sandbox runs under, generated once per process by libseccomp
/// (the denied calls are listed in `seccomp_filter.c`).
public enum SeccompFilter {
    private static let cached: Result<[UInt8], SandboxError> = generate(weakened: false)

    private static let cachedUnixOnly: Result<[UInt8], SandboxError> = generate { airlock_seccomp_export_unix_only($0) }

    public static func program() throws(SandboxError) -> [UInt8] { try cached.get() }

    /// The filter stacked on top for a sandbox with no network namespace: only AF_UNIX
    /// sockets can be made.
    public static func unixOnlyProgram() throws(SandboxError) -> [UInt8] { try cachedUnixOnly.get() }

    /// The libseccomp version, for `airlock doctor`.
    public static var libraryVersion: String { String(cString: airlock_seccomp_version()) }

    package static func generate(weakened: Bool) -> Result<[UInt8], SandboxError> {
        generate { airlock_seccomp_export($0, weakened ? 1 : 0) }
    }

    private static func generate(_ export: (Int32) -> Int32) -> Result<[UInt8], SandboxError> {
        let fd = airlock_memfd("airlock-seccomp")
        guard fd >= 0 else { return .failure(SandboxError(.unavailable, "memfd_create failed")) }
        defer { close(fd) }
        let rc = export(fd)
        guard rc == 0 else {
            return .failure(SandboxError(.unavailable, "libseccomp could not build the filter (\(rc))",
                                         fix: "apt-get install -y libseccomp2"))
        }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0 else { return .failure(SandboxError(.unavailable, "libseccomp exported an empty filter")) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let count = pread(fd, &bytes, bytes.count, 0)
        guard count == bytes.count else { return .failure(SandboxError(.unavailable, "cannot read the seccomp filter")) }
        return .success(bytes)
    }
}
