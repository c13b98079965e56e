import Foundation
import Glibc

/// `airlock-bench exec-process [RUNS] [AIRLOCK…]`: the whole `airlock exec -- /bin/true`
/// process (harness start-up, sandbox start, the command, teardown) of each `airlock`
/// binary named (by default the installed one on PATH and the one beside this bench),
/// against raw `bwrap` with the backend's own flags running /bin/true, in the same run.
enum ProcessBench {
    static func run(runs: Int, binaries: [String], host: BenchHost) throws(BenchError) -> String {
        let raw = RawLaunch(plan: try host.plan(command: ["/bin/true"]), host: host)
        var series: [(String, Series)] = []
        var rawSamples: [Double] = []
        var samples: [String: [Double]] = [:]
        // Interleaved, so load that comes and goes on a shared machine hits every series alike.
        for round in 0..<(runs + 3) {
            let rawTime = try raw.runToCompletion()
            var these: [String: Double] = [:]
            for binary in binaries { these[binary] = try whole(binary, workspace: host.workspace) }
            guard round >= 3 else { continue }  // warm-up
            rawSamples.append(rawTime)
            for (binary, time) in these { samples[binary, default: []].append(time) }
            if round % 10 == 0 { Progress.say("exec-process: \(round - 2)/\(runs)") }
        }
        let baseline = Series(name: "raw bwrap … /bin/true", samples: rawSamples)
        series.append((baseline.name, baseline))
        for binary in binaries {
            let measured = Series(name: "\(binary) exec -- /bin/true", samples: samples[binary] ?? [])
            series.append((measured.name, measured))
        }
        var lines = ["whole process, \(runs) runs each (ms)      median      p99   vs raw bwrap (median)"]
        for (name, measured) in series {
            lines.append(name.padding(toLength: 40, withPad: " ", startingAt: 0)
                + String(format: "%8.2f %8.2f   %.2f×", measured.median, measured.p99, ratio(measured.median, baseline.median)))
        }
        lines.append("target (issue 17): the installed static binary ≤ 2 × raw bwrap")
        return lines.joined(separator: "\n")
    }

    /// One `airlock exec` from fork to reaping, its output discarded.
    static func whole(_ binary: String, workspace: String) throws(BenchError) -> Double {
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw BenchError("cannot open /dev/null") }
        defer { close(null) }
        let clock = ContinuousClock()
        let start = clock.now
        let pid: pid_t
        do {
            pid = try ChildProcess.spawn(ChildSpec(argv: [binary, "exec", "--sandbox", "bwrap", "--workspace", workspace, "--", "/bin/true"],
                                                   environment: ["PATH=/usr/bin:/bin", "HOME=/root"],
                                                   fdMap: [null, 0, null, 1, null, 2]))
        } catch {
            throw BenchError("\(error)")
        }
        let code = ChildProcess.wait(pid)
        let elapsed = (clock.now - start).milliseconds
        guard code == 0 else { throw BenchError("\(binary) exec -- /bin/true exited \(code)") }
        return elapsed
    }

    /// The `airlock` binaries to compare when none are named: the one on PATH and the one
    /// built beside this bench, each once.
    static func defaultBinaries() -> [String] {
        var found: [String] = []
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/airlock"
            if access(candidate, X_OK) == 0 { found.append(candidate); break }
        }
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            let beside = (exe as NSString).deletingLastPathComponent + "/airlock"
            if access(beside, X_OK) == 0 { found.append(beside) }
        }
        return found
    }
}
