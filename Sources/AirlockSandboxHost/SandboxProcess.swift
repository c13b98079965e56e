import AirlockSandbox
import CAirlockSys
import AirlockStreams
import Dispatch
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import Synchronization

/// The bwrap process of one sandbox: its pid, pipes, reaper and last words on stderr.
package final class SandboxProcess: Sendable {
    package let pid: pid_t
    package let connection: GuestConnection
    private let exitStatus = Mutex<Int32?>(nil)
    private let stderrTail = Mutex<[UInt8]>([])
    private let exited = DispatchSemaphore(value: 0)
    /// Signalled once stderr reached end of file (every holder of its write end is gone).
    private let stderrClosed = DispatchSemaphore(value: 0)

    private init(pid: pid_t, connection: GuestConnection, stderrFD: Int32) {
        self.pid = pid
        self.connection = connection
        OSThread.start(name: "airlock-sandbox-reaper") { [self] in
            var status: Int32 = 0
            var usage = rusage()
            _ = airlock_wait4(pid, &status, 0, &usage)
            exitStatus.withLock { $0 = status }
            exited.signal()
        }
        OSThread.start(name: "airlock-sandbox-stderr") { [self] in
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = read(stderrFD, &buffer, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                stderrTail.withLock { tail in
                    tail += buffer[0..<count]
                    if tail.count > 8192 { tail.removeFirst(tail.count - 8192) }
                }
            }
            close(stderrFD)
            stderrClosed.signal()
        }
    }

    package var hasExited: Bool { exitStatus.withLock { $0 != nil } }

    /// What bwrap (or the guest) wrote to stderr; explains a failed start.
    /// Once the process has exited, waits a moment for the reader to drain what it wrote
    /// last (the reason a start failed is often its final line).
    package func diagnostics() -> String {
        if hasExited, stderrClosed.wait(timeout: .now() + 1) == .success {
            stderrClosed.signal()  // leave it signalled for the next caller
        }
        return String(decoding: stderrTail.withLock { $0 }, as: UTF8.self)
    }

    /// Waits up to `timeout` seconds for the process to be reaped.
    package func waitForExit(timeout: Double) -> Bool {
        exited.wait(timeout: .now() + timeout) == .success || hasExited
    }

    package static func spawn(plan: LaunchPlan, identity: SandboxIdentity, cgroup: (any ControlGroup)?,
                              confinement: Confinement? = nil) async throws(SandboxError) -> SandboxProcess {
        var stdinPipe: [Int32] = [-1, -1], stdoutPipe: [Int32] = [-1, -1], stderrPipe: [Int32] = [-1, -1]
        guard airlock_pipe(&stdinPipe, O_CLOEXEC) == 0, airlock_pipe(&stdoutPipe, O_CLOEXEC) == 0,
              airlock_pipe(&stderrPipe, O_CLOEXEC) == 0 else {
            throw SandboxError(.startFailed, "cannot create pipes: \(String(cString: strerror(errno)))")
        }
        var map: [Int32] = [stdinPipe[0], 0, stdoutPipe[1], 1, stderrPipe[1], 2]
        var dataFDs: [Int32] = []
        for (target, bytes) in plan.dataFiles.sorted(by: { $0.key < $1.key }) {
            let fd = airlock_memfd("airlock-data")
            guard fd >= 0, pwrite(fd, bytes, bytes.count, 0) == bytes.count else {
                throw SandboxError(.startFailed, "cannot prepare sandbox inputs")
            }
            dataFDs.append(fd)
            map += [fd, target]
        }
        if let ruleset = confinement?.landlockRuleset { map += [ruleset, Confinement.rulesetFD] }
        let argv = plan.argv
        // A v2 group is entered at clone time; v1 groups are joined by the child.
        // Never fd 0 (a harness started with stdin closed gets it from open): the spawner
        // reads 0 as "no group", and the sandbox would run outside its limits.
        let cloneFD: Int32 = cgroup?.cloneDirectory.map { aboveStdio(open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) } ?? -1
        defer { if cloneFD >= 0 { close(cloneFD) } }
        let procs = cloneFD >= 0 ? [] : (cgroup?.procsFiles ?? [])
        let mapping = map
        let mounts = RootMounts(source: plan.bindSource, target: plan.bindTarget, overlay: plan.overlay)
        let error = await Spawner.shared.run {
            forkExec(argv: argv, cgroupProcs: procs, cgroupFD: cloneFD, fdMap: mapping, identity: identity,
                     confinement: confinement, mounts: mounts)
        }
        for fd in [stdinPipe[0], stdoutPipe[1], stderrPipe[1]] + dataFDs { close(fd) }
        guard error.errorNumber == 0 else {
            for fd in [stdinPipe[1], stdoutPipe[0], stderrPipe[0]] { close(fd) }
            throw SandboxError(.startFailed, "cannot start \(argv[0]): \(String(cString: strerror(error.errorNumber)))")
        }
        let connection = GuestConnection(input: stdinPipe[1], output: stdoutPipe[0])
        return SandboxProcess(pid: error.pid, connection: connection, stderrFD: stderrPipe[0])
    }
}

/// What the spawn shim mounts before dropping to the sandbox uid (image roots).
struct RootMounts: Sendable {
    var source: String?
    var target: String?
    var overlay: LaunchPlan.OverlayMount?
}

package struct SpawnOutcome: Sendable {
    package var errorNumber: Int32
    package var pid: pid_t
}

/// fork + exec through the C shim (runs on the spawner thread).
private func forkExec(argv: [String], cgroupProcs: [String], cgroupFD: Int32, fdMap: [Int32],
                      identity: SandboxIdentity, confinement: Confinement?, mounts: RootMounts) -> SpawnOutcome {
    var pid: pid_t = 0
    let environment = confinement?.environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } ?? []
    // strdup'd for the life of this call: the child reads them between fork and exec.
    let strings = [mounts.source, mounts.target, mounts.overlay?.idmapSource, mounts.overlay?.idmapTarget,
                   mounts.overlay?.options].map { $0.flatMap { strdup($0) } }
    defer { strings.forEach { free($0) } }
    let result = withSpawnOptions(argv: argv, environment: environment, fdMap: fdMap) { options in
        options.bind_source = UnsafePointer(strings[0])
        options.bind_target = UnsafePointer(strings[1])
        options.idmap_source = UnsafePointer(strings[2])
        options.idmap_target = UnsafePointer(strings[3])
        options.overlay_options = UnsafePointer(strings[4])
        options.idmap_userns_fd = mounts.overlay?.usernsFD ?? -1
        return withCStringArray(cgroupProcs) { cProcs -> Int32 in
            options.cgroup_procs = cgroupProcs.isEmpty ? nil : UnsafeRawPointer(cProcs)
                .assumingMemoryBound(to: UnsafePointer<CChar>?.self)
            options.change_ids = identity.changesIDs ? 1 : 0
            options.uid = identity.uid
            options.gid = identity.gid
            options.parent_death_signal = SIGKILL
            options.cgroup_fd = cgroupFD
            guard let confinement else { return airlock_spawn(&options, &pid) }
            options.new_session = 1
            options.parent_death_signal = confinement.parentDeathSignal
            return confinement.withC { confine in
                (confinement.workingDirectory ?? "/").withCString { cwd in
                    options.cwd = confinement.workingDirectory == nil ? nil : cwd
                    options.confine = confine
                    return airlock_spawn(&options, &pid)
                }
            }
        }
    }
    return SpawnOutcome(errorNumber: result, pid: pid)
}

/// `fd` moved above 0, 1 and 2 when it landed there (those were closed in this process).
package func aboveStdio(_ fd: Int32) -> Int32 {
    guard fd >= 0, fd <= 2 else { return fd }
    let moved = fcntl(fd, F_DUPFD_CLOEXEC, 3)
    close(fd)
    return moved
}

/// Spawn options for `argv` (its first element is the program's path) with `environment`
/// as the child's whole environment and `fdMap`'s (source, target) pairs installed; `spawn`
/// sets the rest and calls `airlock_spawn` while the C strings live.
package func withSpawnOptions(argv: [String], environment: [String], fdMap: [Int32],
                              _ spawn: (inout airlock_spawn_options) -> Int32) -> Int32 {
    withCStringArray(argv) { cArgv in
        withCStringArray(environment) { cEnv in
            fdMap.withUnsafeBufferPointer { mapBuffer in
                argv[0].withCString { path in
                    var options = airlock_spawn_options()
                    options.path = path
                    options.argv = UnsafePointer(cArgv)
                    options.envp = UnsafePointer(cEnv)
                    options.fd_map = mapBuffer.baseAddress
                    options.fd_map_count = Int32(fdMap.count / 2)
                    return spawn(&options)
                }
            }
        }
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
package func withCStringArray<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(&pointers)
}
