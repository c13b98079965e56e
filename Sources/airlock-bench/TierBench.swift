import AirlockLandlock
import AirlockOCI
import AirlockProtocol
import AirlockSandbox
import AirlockSandboxHost
import CAirlockSys
import Foundation
import Glibc
import AirlockBubblewrap

/// `airlock-bench tiers [N]`: start → first result and a warm exec round trip for every
/// tier that starts here, against raw `crun run`, `runc run` and `runsc do` of /bin/true
/// and a bare fork/exec of the guest, all in one run, interleaved round by round.
enum TierBench {
    static func tiers(_ breakdowns: [String: TierBreakdown]) -> [(String, any SandboxBackend)] {
        var list: [(String, any SandboxBackend)] = [("bwrap", BubblewrapBackend())]
        if let crun = OCIRuntime.find(.crun), let breakdown = breakdowns["oci/crun"] {
            list.append(("oci/crun", breakdown.observe(OCIBackend(runtime: crun))))
        }
        if let runc = OCIRuntime.find(.runc), let breakdown = breakdowns["oci/runc"] {
            list.append(("oci/runc", breakdown.observe(OCIBackend(runtime: runc))))
        }
        if let runsc = OCIRuntime.find(.runsc) { list.append(("gvisor", OCIBackend(runtime: runsc))) }
        list.append(("landlock", LandlockBackend()))
        return list
    }

    /// - Parameter only: tier names to run (e.g. "oci/crun"); empty for all.
    static func run(iterations: Int, host: BenchHost, only: Set<String> = []) async throws -> String {
        var working: [(String, any SandboxBackend)] = []
        let breakdowns = ["oci/crun": TierBreakdown(), "oci/runc": TierBreakdown()]
        for (name, backend) in tiers(breakdowns) where only.isEmpty || only.contains(name) {
            do {
                _ = try await AirlockRuns.startToFirstResult(host, backend: backend)
                working.append((name, backend))
            } catch {
                Progress.say("tier \(name) does not start here: \(error)")
            }
        }
        let tierOfRaw = ["crun run /bin/true": "oci/crun", "runc run /bin/true": "oci/runc", "runsc do /bin/true": "gvisor"]
        let raws = RawRuntime.available(host: host).filter { only.isEmpty || only.contains(tierOfRaw[$0.name] ?? "") }
        defer { raws.forEach { $0.remove() } }
        guard let guest = host.guestForSandbox() ?? BenchHost.guestOnHost() else { throw BenchError("no guest binary") }
        let bareGuest = RawLaunch(plan: LaunchPlan(argv: [guest, "--workspace", host.workspace]), host: host, changeIDs: host.changesIDs)
        var starts: [String: [Double]] = [:]
        var rawStarts: [String: [Double]] = [:]
        var guestStarts: [Double] = []
        Progress.say("start → first result: \(iterations) rounds over \(working.map(\.0)) + raw \(raws.map(\.name))")
        for round in 1...iterations {
            for (name, backend) in working {
                breakdowns[name]?.begin()
                let total = try await AirlockRuns.startToFirstResult(host, backend: backend).total
                starts[name, default: []].append(total)
                breakdowns[name]?.end(total: total)
            }
            for raw in raws { rawStarts[raw.name, default: []].append(try raw.runTrue()) }
            let session = try bareGuest.guestSession(exec: true)
            guestStarts.append(session.hello + session.exec)
            if round % 5 == 0 { Progress.say("  \(round)/\(iterations)") }
        }
        var warm: [String: [Double]] = [:]
        var bare: [Double] = []
        for (name, backend) in working {
            let sandbox = try await backend.start(host.configuration)
            for _ in 0..<3 { _ = try await AirlockRuns.warmExec(sandbox) }
            for _ in 0..<iterations {
                warm[name, default: []].append(try await AirlockRuns.warmExec(sandbox))
                bare.append(try bareTrue())
            }
            await sandbox.kill()
        }
        let bareGuestMedian = Series(name: "", samples: guestStarts).median
        let bareMedian = Series(name: "", samples: bare).median
        var lines = ["tier start → first result (median ms, p99) and warm exec round trip, \(iterations) rounds, one run",
                     String(format: "  bare fork/exec of the guest → hello → /bin/true result: %.2f ms", bareGuestMedian)]
        for raw in raws {
            let series = Series(name: raw.name, samples: rawStarts[raw.name] ?? [])
            lines.append(String(format: "  raw %@: %.2f ms (p99 %.2f)", raw.name, series.median, series.p99))
        }
        lines.append(String(format: "  bare fork/exec/wait /bin/true: %.3f ms", bareMedian))
        for (name, _) in working {
            let start = Series(name: name, samples: starts[name] ?? [])
            let exec = Series(name: name, samples: warm[name] ?? [])
            let rawName = name == "oci/crun" ? "crun run /bin/true" : name == "oci/runc" ? "runc run /bin/true"
                : name == "gvisor" ? "runsc do /bin/true" : nil
            let rawMedian = rawName.flatMap { key in rawStarts[key].map { Series(name: key, samples: $0).median } }
            var line = String(format: "  %-9@ start %.2f ms (p99 %.2f) = %.2f× bare guest", name as NSString,
                              start.median, start.p99, ratio(start.median, bareGuestMedian))
            if let rawMedian { line += String(format: ", %.2f× %@", ratio(start.median, rawMedian), rawName ?? "") }
            line += String(format: "; warm exec %.3f ms = %.2f× bare fork/exec", exec.median, ratio(exec.median, bareMedian))
            lines.append(line)
            if let breakdown = breakdowns[name] { lines.append("    steps (median ms): " + breakdown.summary) }
        }
        return lines.joined(separator: "\n")
    }
}

/// A raw runtime baseline: `crun run`, `runc run` (a bundle of the host's /usr running
/// /bin/true) or `runsc do /bin/true`, spawned and waited for as the backend would.
struct RawRuntime {
    let name: String
    let argv: [String]
    let directory: String
    let detachMount: String?

    static func available(host: BenchHost) -> [RawRuntime] {
        var list: [RawRuntime] = []
        let root = "/run/airlock/bench-raw-\(getpid())"
        for kind in [OCIRuntime.Kind.crun, .runc] {
            guard let runtime = OCIRuntime.find(kind) else { continue }
            let bundle = root + "/" + kind.rawValue
            let generator = OCIBundle(runtime: kind, layout: .current(),
                                      mapping: OCIBundle.Mapping(uid: host.uid, gid: host.gid, rootUID: geteuid() == 0 ? 65534 : nil),
                                      generatedDirectory: bundle + "/generated")
            var (config, skeleton) = generator.generate(host.configuration, guestOnHost: "/bin/true")
            if var process = config["process"] as? [String: Any] {
                process["args"] = ["/bin/true"]
                config["process"] = process
            }
            do { try OCIBundleWriter.write(bundle: bundle, config: config, skeleton: skeleton, egress: nil, editConfig: nil) } catch {
                Progress.say("raw \(kind.rawValue): \(error)")
                continue
            }
            let global = kind == .crun ? ["--root", root + "/state", "--cgroup-manager=disabled"] : ["--root", root + "/state"]
            list.append(RawRuntime(name: "\(kind.rawValue) run /bin/true", argv: [runtime.path] + global + ["run", "--bundle", bundle],
                                   directory: bundle, detachMount: kind == .crun ? OCIBackend.hybridUnifiedMount(.detect()) : nil))
        }
        if let runsc = OCIRuntime.find(.runsc) {
            list.append(RawRuntime(name: "runsc do /bin/true",
                                   argv: [runsc.path, "--root", root + "/runsc", "--network=none", "--ignore-cgroups", "do", "/bin/true"],
                                   directory: root + "/runsc", detachMount: nil))
        }
        return list
    }

    /// Spawns the runtime with a fresh container id and waits; milliseconds.
    func runTrue() throws -> Double {
        let id = "bench-\(UInt32.random(in: 0...UInt32.max))"
        let full = argv.last == "/bin/true" ? argv : argv + [id]
        let began = ContinuousClock.now
        var confinement = Confinement(environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
        confinement.noNewPrivileges = false
        confinement.detachMount = detachMount
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        var pid: pid_t = 0
        let map: [Int32] = [null, 0, null, 1, null, 2]
        let rc = withSpawnOptions(argv: full, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], fdMap: map) { options in
            confinement.withC { confine in
                options.confine = confine
                return airlock_spawn(&options, &pid)
            }
        }
        guard rc == 0 else { throw BenchError("\(full[0]): \(String(cString: strerror(rc)))") }
        let code = ChildProcess.wait(pid)
        guard code == 0 else { throw BenchError("\(name) exited \(code)") }
        return (ContinuousClock.now - began).milliseconds
    }

    func remove() { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
}
