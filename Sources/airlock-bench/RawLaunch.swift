import AirlockProtocol
import AirlockSandbox
import CAirlockSys
import Glibc
import AirlockSandboxHost

/// Starts a launch plan the way `SandboxProcess.spawn` does — `airlock_spawn`, the plan's
/// data on memfds at the same fd numbers, the same uid change when root, SIGKILL as parent
/// death signal — but without the harness around it (no spawner thread, reader threads,
/// async hops or cgroup unless asked).
struct RawLaunch: Sendable {
    var plan: LaunchPlan
    var host: BenchHost
    /// Change uid like the backend (true for bwrap; false for the bare guest baseline).
    var changeIDs = true
    /// cgroup.procs files the child joins before exec.
    var cgroupProcs: [String] = []

    private func spec(stdio: [Int32], dataFDs: [Int32: Int32]) -> ChildSpec {
        var map = stdio.enumerated().flatMap { [$0.element, Int32($0.offset)] }
        for (target, fd) in dataFDs.sorted(by: { $0.key < $1.key }) { map += [fd, target] }
        return ChildSpec(argv: plan.argv, fdMap: map, cgroupProcs: cgroupProcs,
                         changeIDs: changeIDs && host.changesIDs, uid: host.uid, gid: host.gid,
                         parentDeathSignal: SIGKILL)
    }

    /// The plan's generated inputs as memfds, as the backend makes them for every start.
    private func dataFDs() throws(BenchError) -> [Int32: Int32] {
        var fds: [Int32: Int32] = [:]
        for (target, bytes) in plan.dataFiles {
            guard let fd = memfd("airlock-data", bytes) else {
                fds.values.forEach { close($0) }
                throw BenchError("memfd_create failed")
            }
            fds[target] = fd
        }
        return fds
    }

    /// Spawns the plan with stdio on /dev/null (stderr kept) and waits for it to exit;
    /// returns the milliseconds from before the memfds were made until it was reaped.
    func runToCompletion() throws(BenchError) -> Double {
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0, let errors = memfd("airlock-bench-stderr", []) else { throw BenchError("cannot open /dev/null") }
        defer { close(null); close(errors) }
        let clock = ContinuousClock()
        let start = clock.now
        let data = try dataFDs()
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn(spec(stdio: [null, null, errors], dataFDs: data))
        } catch {
            data.values.forEach { close($0) }
            throw BenchError("\(error)")
        }
        data.values.forEach { close($0) }
        let code = ChildProcess.wait(pid)
        let elapsed = (clock.now - start).milliseconds
        guard code == 0 else {
            throw BenchError("\(plan.argv[0]) exited \(code): \(contents(of: errors))")
        }
        return elapsed
    }

    /// A guest session without the harness: spawn → hello, then (optionally) one exec of
    /// /bin/true → its exit frame, speaking the protocol over plain pipes.
    /// Returns (spawn → hello, hello → exit) in milliseconds; the teardown is not timed.
    func guestSession(exec: Bool) throws(BenchError) -> (hello: Double, exec: Double) {
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1]
        guard airlock_pipe(&input, O_CLOEXEC) == 0, airlock_pipe(&output, O_CLOEXEC) == 0,
              let errors = memfd("airlock-bench-stderr", []) else {
            throw BenchError("cannot create pipes")
        }
        defer { close(errors) }
        let clock = ContinuousClock()
        let start = clock.now
        let data: [Int32: Int32]
        let pid: pid_t
        do {
            data = try dataFDs()
            pid = try ChildProcess.spawn(spec(stdio: [input[0], output[1], errors], dataFDs: data))
        } catch {
            [input[0], input[1], output[0], output[1]].forEach { close($0) }
            throw BenchError("\(error)")
        }
        data.values.forEach { close($0) }
        close(input[0])
        close(output[1])
        var lines = LineSource(fd: output[0])
        defer {
            close(input[1])
            _ = ChildProcess.wait(pid)
            close(output[0])
        }
        guard let greeting = lines.next(), case .success(let hello) = FrameCodec().decode(ResponseFrame.self, from: greeting),
              case .hello = hello.response else {
            throw BenchError("the guest did not greet: \(contents(of: errors))")
        }
        let helloAt = clock.now
        guard exec else { return ((helloAt - start).milliseconds, 0) }
        let frame = RequestFrame(id: 1, request: .exec(ExecRequest(argv: ["/bin/true"])))
        guard let bytes = try? FrameCodec().encode(frame),
              bytes.withUnsafeBytes({ write(input[1], $0.baseAddress, $0.count) }) == bytes.count else {
            throw BenchError("cannot write to the guest")
        }
        while let line = lines.next() {
            guard case .success(let answer) = FrameCodec().decode(ResponseFrame.self, from: line),
                  answer.id == 1 else { continue }
            if case .exit = answer.response {
                return ((helloAt - start).milliseconds, (clock.now - helloAt).milliseconds)
            }
            if case .error(let error) = answer.response { throw BenchError("guest error: \(error.message)") }
        }
        throw BenchError("the guest ended before answering: \(contents(of: errors))")
    }
}

/// Newline-delimited lines from a blocking fd.
struct LineSource {
    let fd: Int32
    private var pending: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    mutating func next() -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return nil }
            pending += buffer[0..<count]
        }
    }
}

/// Bare fork/exec + wait of /bin/true from the harness: the floor every figure is held to.
func bareTrue() throws(BenchError) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    let pid: pid_t
    do { pid = try ChildProcess.spawn(ChildSpec(argv: ["/bin/true"])) } catch { throw BenchError("\(error)") }
    let code = ChildProcess.wait(pid)
    let elapsed = (clock.now - start).milliseconds
    guard code == 0 else { throw BenchError("/bin/true exited \(code)") }
    return elapsed
}
