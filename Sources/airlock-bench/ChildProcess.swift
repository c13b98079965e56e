import CAirlockSys
import Glibc

/// How to start one child through `airlock_spawn`, the same C shim the backend uses.
struct ChildSpec: Sendable {
    var argv: [String]
    var environment: [String] = []
    /// Pairs (source fd, target fd) installed in the child.
    var fdMap: [Int32] = []
    var cgroupProcs: [String] = []
    var changeIDs = false
    var uid: uid_t = 0
    var gid: gid_t = 0
    var parentDeathSignal: Int32 = 0
}

struct SpawnFailure: Error, CustomStringConvertible {
    var what: String
    var errorNumber: Int32
    var description: String { "cannot start \(what): \(String(cString: strerror(errorNumber)))" }
}

enum ChildProcess {
    /// fork + exec; returns once the child has exec'd (or failed to).
    static func spawn(_ spec: ChildSpec) throws(SpawnFailure) -> pid_t {
        guard let path = spec.argv.first else { throw SpawnFailure(what: "(empty argv)", errorNumber: EINVAL) }
        var pid: pid_t = 0
        var options = airlock_spawn_options()
        let result = withCStrings(spec.argv) { argv -> Int32 in
            withCStrings(spec.environment) { envp -> Int32 in
                withCStrings(spec.cgroupProcs) { procs -> Int32 in
                    spec.fdMap.withUnsafeBufferPointer { map -> Int32 in
                        path.withCString { cPath -> Int32 in
                            options.path = cPath
                            options.argv = UnsafePointer(argv)
                            options.envp = UnsafePointer(envp)
                            options.fd_map = map.baseAddress
                            options.fd_map_count = Int32(spec.fdMap.count / 2)
                            options.cgroup_procs = spec.cgroupProcs.isEmpty ? nil : UnsafeRawPointer(procs)
                                .assumingMemoryBound(to: UnsafePointer<CChar>?.self)
                            options.change_ids = spec.changeIDs ? 1 : 0
                            options.uid = spec.uid
                            options.gid = spec.gid
                            options.parent_death_signal = spec.parentDeathSignal
                            return airlock_spawn(&options, &pid)
                        }
                    }
                }
            }
        }
        guard result == 0 else { throw SpawnFailure(what: path, errorNumber: result) }
        return pid
    }

    /// Waits for the child; returns its exit code, or 128 + signal.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        var usage = rusage()
        guard airlock_wait4(pid, &status, 0, &usage) == pid else { return -1 }
        if airlock_wifexited(status) != 0 { return airlock_wexitstatus(status) }
        return 128 + airlock_wtermsig(status)
    }

    /// Calls `body` with a NULL-terminated C array of the strings.
    private static func withCStrings<R>(_ strings: [String],
                                        _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
        var pointers = strings.map { strdup($0) } + [nil]
        defer { pointers.forEach { free($0) } }
        return body(&pointers)
    }
}

/// A memfd holding `bytes`, readable from offset 0 by the child (close-on-exec in the parent).
func memfd(_ name: String, _ bytes: [UInt8]) -> Int32? {
    let fd = airlock_memfd(name)
    guard fd >= 0 else { return nil }
    guard pwrite(fd, bytes, bytes.count, 0) == bytes.count else {
        close(fd)
        return nil
    }
    return fd
}

/// Reads what a child left in a memfd (its stderr), for diagnostics.
func contents(of fd: Int32) -> String {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    var offset: off_t = 0
    while true {
        let count = pread(fd, &buffer, buffer.count, offset)
        if count <= 0 { break }
        bytes += buffer[0..<count]
        offset += off_t(count)
    }
    return String(decoding: bytes, as: UTF8.self)
}
