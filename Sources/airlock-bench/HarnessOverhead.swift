import AirlockProtocol
import AirlockSandbox
import CAirlockSys
import Glibc

extension RawLaunch {
    /// Spawn → first `/bin/true` result through the harness's `GuestConnection` (its reader
    /// thread, frame routing and async stream), but spawned directly: no spawner hop, no
    /// reaper/stderr threads, no cgroup. Set against `guestSession` it prices the connection.
    func connectionSession() async throws(BenchError) -> Double {
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1]
        guard airlock_pipe(&input, O_CLOEXEC) == 0, airlock_pipe(&output, O_CLOEXEC) == 0 else {
            throw BenchError("cannot create pipes")
        }
        let clock = ContinuousClock()
        let start = clock.now
        var map: [Int32] = [input[0], 0, output[1], 1]
        var data: [Int32] = []
        for (target, bytes) in plan.dataFiles.sorted(by: { $0.key < $1.key }) {
            guard let fd = memfd("airlock-data", bytes) else { throw BenchError("memfd_create failed") }
            data.append(fd)
            map += [fd, target]
        }
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn(ChildSpec(argv: plan.argv, fdMap: map, changeIDs: host.changesIDs,
                                                   uid: host.uid, gid: host.gid, parentDeathSignal: SIGKILL))
        } catch {
            throw BenchError("\(error)")
        }
        (data + [input[0], output[1]]).forEach { close($0) }
        let connection = GuestConnection(input: input[1], output: output[0])
        let result: ExecResult
        do {
            result = try await connection.exec(ExecRequest(argv: ["/bin/true"]))
        } catch {
            connection.close()
            _ = ChildProcess.wait(pid)
            throw BenchError("exec: \(error)")
        }
        let elapsed = (clock.now - start).milliseconds
        connection.close()
        _ = ChildProcess.wait(pid)
        guard result.status.code == 0 else { throw BenchError("/bin/true exited \(String(describing: result.status.code))") }
        return elapsed
    }
}
