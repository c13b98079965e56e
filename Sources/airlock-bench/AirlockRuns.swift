import AirlockProtocol
import AirlockSandbox
import AirlockBubblewrap

/// Sandboxes started through the real backend, as `airlock exec` starts them.
enum AirlockRuns {
    struct StartSample {
        /// Backend made → start → first `/bin/true` exit frame.
        var total: Double
        /// What the backend itself reports for `start` (its own clock, spawn → hello).
        var start: Double
        /// The sandbox's kill, not part of `total`.
        var kill: Double
    }

    /// `BubblewrapBackend().start(config)`, `exec ["/bin/true"]` until its exit frame,
    /// then a kill that is timed apart. With `backend` given it is reused instead of made.
    static func startToFirstResult(_ host: BenchHost, backend reused: (any SandboxBackend)? = nil) async throws(BenchError) -> StartSample {
        let clock = ContinuousClock()
        let began = clock.now
        let backend: any SandboxBackend = reused ?? BubblewrapBackend()
        let sandbox: any Sandbox
        do { sandbox = try await backend.start(host.configuration) } catch { throw BenchError("sandbox start: \(error)") }
        let result: ExecResult
        do {
            result = try await sandbox.guest.exec(ExecRequest(argv: ["/bin/true"]))
        } catch {
            await sandbox.kill()
            throw BenchError("first exec: \(error)")
        }
        let total = (clock.now - began).milliseconds
        let killStart = clock.now
        await sandbox.kill()
        let kill = (clock.now - killStart).milliseconds
        guard result.status.code == 0 else { throw BenchError("/bin/true in the sandbox exited \(String(describing: result.status.code))") }
        return StartSample(total: total, start: sandbox.startMilliseconds, kill: kill)
    }

    /// One exec round trip of `/bin/true` in a started sandbox.
    static func warmExec(_ sandbox: any Sandbox) async throws(BenchError) -> Double {
        let clock = ContinuousClock()
        let began = clock.now
        let result: ExecResult
        do { result = try await sandbox.guest.exec(ExecRequest(argv: ["/bin/true"])) } catch { throw BenchError("exec: \(error)") }
        let elapsed = (clock.now - began).milliseconds
        guard result.status.code == 0 else { throw BenchError("/bin/true in the sandbox exited \(String(describing: result.status.code))") }
        return elapsed
    }

    static func start(_ host: BenchHost) async throws(BenchError) -> any Sandbox {
        do { return try await BubblewrapBackend().start(host.configuration) } catch { throw BenchError("sandbox start: \(error)") }
    }
}
