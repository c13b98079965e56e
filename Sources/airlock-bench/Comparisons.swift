import AirlockSandbox

/// Parts 1 and 2: the headline series, interleaved sample by sample so that drift on a
/// noisy machine lands on every series alike.
enum Comparisons {
    struct StartFigures {
        var airlock: Series
        var raw: Series
        var bare: Series
        /// The backend's own start figure and the kill, recorded alongside.
        var backendStart: Series
        var kill: Series
    }

    struct ExecFigures {
        var warm: Series
        var bare: Series
    }

    static func start(_ host: BenchHost, options: Options) async throws(BenchError) -> StartFigures {
        Progress.say("sandbox start: \(options.warmup) warm-up + \(options.iterations) measured rounds")
        // The first start stages the guest for the sandbox uid; the raw plan needs that copy.
        for _ in 0..<max(1, options.warmup) { _ = try await AirlockRuns.startToFirstResult(host) }
        let raw = RawLaunch(plan: try host.plan(command: ["/bin/true"]), host: host)
        for _ in 0..<options.warmup {
            _ = try raw.runToCompletion()
            _ = try bareTrue()
        }
        var airlock: [Double] = [], rawSamples: [Double] = [], bare: [Double] = []
        var backendStart: [Double] = [], kill: [Double] = []
        for round in 1...options.iterations {
            let sample = try await AirlockRuns.startToFirstResult(host)
            airlock.append(sample.total)
            backendStart.append(sample.start)
            kill.append(sample.kill)
            rawSamples.append(try raw.runToCompletion())
            bare.append(try bareTrue())
            if round % 10 == 0 { Progress.say("  \(round)/\(options.iterations)") }
        }
        return StartFigures(airlock: Series(name: "airlock start → first result", samples: airlock),
                            raw: Series(name: "raw bwrap, same flags, /bin/true", samples: rawSamples),
                            bare: Series(name: "bare fork/exec/wait /bin/true", samples: bare),
                            backendStart: Series(name: "backend's own startMilliseconds", samples: backendStart),
                            kill: Series(name: "sandbox kill (not in start)", samples: kill))
    }

    static func exec(_ host: BenchHost, options: Options) async throws(BenchError) -> ExecFigures {
        Progress.say("warm exec: \(options.warmup) warm-up + \(options.iterations) measured rounds")
        let sandbox = try await AirlockRuns.start(host)
        var warm: [Double] = [], bare: [Double] = []
        do {
            for _ in 0..<options.warmup {
                _ = try await AirlockRuns.warmExec(sandbox)
                _ = try bareTrue()
            }
            for round in 1...options.iterations {
                warm.append(try await AirlockRuns.warmExec(sandbox))
                bare.append(try bareTrue())
                if round % 25 == 0 { Progress.say("  \(round)/\(options.iterations)") }
            }
        } catch {
            await sandbox.kill()
            throw error
        }
        await sandbox.kill()
        return ExecFigures(warm: Series(name: "warm exec round trip /bin/true", samples: warm),
                           bare: Series(name: "bare fork/exec/wait /bin/true", samples: bare))
    }
}
