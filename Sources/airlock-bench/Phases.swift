import AirlockProtocol
import AirlockSandbox
import Glibc
import AirlockBubblewrap
import AirlockSandboxHost

/// Part of the breakdown: where the sandbox start's time goes, each step timed alone.
struct Phase: Sendable, Codable {
    var key: String
    var series: Series
    var note: String
}

enum Phases {
    static func measure(_ host: BenchHost, options: Options) async throws(BenchError) -> [Phase] {
        let n = options.iterations
        var phases: [Phase] = []
        func add(_ key: String, _ note: String, _ samples: [Double]) {
            phases.append(Phase(key: key, series: Series(name: key, samples: samples), note: note))
        }
        func repeatSync(_ body: () throws(BenchError) -> Double) throws(BenchError) -> [Double] {
            for _ in 0..<options.warmup { _ = try body() }
            var samples: [Double] = []
            for _ in 0..<n { samples.append(try body()) }
            return samples
        }
        Progress.say("phases: host probing done per start")
        add("backend init", "BubblewrapBackend(): findBwrap + HostLayout.current() + CgroupHost.detect()",
            try repeatSync { timed { _ = BubblewrapBackend() } })
        add("HostLayout.current()", "lstat/readlink of system dirs, access() of the /etc allow-list",
            try repeatSync { timed { _ = HostLayout.current() } })
        add("CgroupHost.detect()", "parse /proc/self/mounts and /proc/self/cgroup",
            try repeatSync { timed { _ = CgroupHost.detect() } })
        add("SeccompFilter.program()", "cached after the first call in a process",
            try repeatSync { timed { _ = try? SeccompFilter.program() } })
        add("guest locate + staged check", "readlink /proc/self/exe, access, stat (as GuestBinary does)",
            try repeatSync { timed { _ = host.guestForSandbox() } })
        let layout = HostLayout.current()
        guard let guest = host.guestForSandbox() else { throw BenchError("airlock-guest not found") }
        let seccomp: [UInt8]
        do { seccomp = try SeccompFilter.program() } catch { throw BenchError("seccomp: \(error)") }
        add("BubblewrapLauncher.plan", "pure argv transform",
            try repeatSync { timed { _ = BubblewrapLauncher(bwrapPath: host.bwrapPath, layout: layout)
                .plan(for: host.configuration, guestOnHost: guest, seccomp: seccomp) } })

        Progress.say("phases: cgroup per sandbox")
        let cgroups = CgroupHost.detect()
        var make: [Double] = [], remove: [Double] = [], joined: [Double] = []
        let rawTrue = RawLaunch(plan: try host.plan(command: ["/bin/true"]), host: host)
        for round in 0..<(n + options.warmup) {
            var group: (any ControlGroup)?
            let clock = ContinuousClock()
            let before = clock.now
            do { group = try cgroups.makeGroup(name: "bench-\(getpid())-\(round)", limits: ResourceLimits()) } catch {
                throw BenchError("cgroup: \(error)")
            }
            let made = (clock.now - before).milliseconds
            var launch = rawTrue
            launch.cgroupProcs = group?.procsFiles ?? []
            let ran = try launch.runToCompletion()
            let removed = timed {
                group?.killAll()
                group?.remove()
            }
            if round >= options.warmup {
                make.append(made)
                joined.append(ran)
                remove.append(removed)
            }
        }
        Progress.say("phases: cgroup joins after an idle gap (50 ms each)")
        var migrate: [Double] = [], idleJoined: [Double] = [], idleRaw: [Double] = []
        for round in 0..<(n + options.warmup) {
            let (moved, ran) = try idleCgroupJoin(cgroups, rawTrue, name: "bench-idle-\(getpid())-\(round)")
            usleep(50_000)
            let plain = try rawTrue.runToCompletion()
            if round >= options.warmup {
                migrate.append(moved)
                idleJoined.append(ran)
                idleRaw.append(plain)
            }
        }
        add("cgroup.procs write, idle (migration)", "parent moves a running child into a fresh group after 50 ms idle", migrate)
        add("raw bwrap /bin/true, idle", "as raw bwrap, 50 ms after the last sandbox (the idle baseline)", idleRaw)
        add("raw bwrap /bin/true joined, idle", "as raw bwrap + child joins the group, 50 ms after the last cgroup move", idleJoined)
        add("cgroup makeGroup", "mkdir of the sandbox's cgroup (\(cgroups.v2Mount.map { "v2 at \($0)" } ?? "v1"))", make)
        add("raw bwrap /bin/true joined to a cgroup", "as raw bwrap, plus the child writing cgroup.procs", joined)
        add("cgroup killAll + remove", "after the sandbox ended (kill path, not start)", remove)

        Progress.say("phases: the guest's start-up")
        let rawGuest = RawLaunch(plan: try host.plan(), host: host)
        var hello: [Double] = [], firstExec: [Double] = []
        for round in 0..<(n + options.warmup) {
            let session = try rawGuest.guestSession(exec: true)
            if round >= options.warmup {
                hello.append(session.hello)
                firstExec.append(session.exec)
            }
        }
        add("raw bwrap + guest → hello", "same plan, guest as command, plain pipes, no harness threads", hello)
        add("raw first exec (hello → exit)", "one exec frame over plain pipes", firstExec)
        var connected: [Double] = []
        for round in 0..<(n + options.warmup) {
            let sample = try await rawGuest.connectionSession()
            if round >= options.warmup { connected.append(sample) }
        }
        add("raw spawn + GuestConnection → first result", "GuestConnection over plain pipes; no cgroup, spawner or extra threads", connected)
        guard let hostGuest = BenchHost.guestOnHost() else { throw BenchError("airlock-guest not found") }
        let bareGuest = RawLaunch(plan: LaunchPlan(argv: [hostGuest, "--workspace", host.workspace]), host: host,
                                  changeIDs: false)
        add("bare guest → hello (no sandbox)", "airlock-guest started directly: its own start-up",
            try repeatSync { () throws(BenchError) -> Double in try bareGuest.guestSession(exec: false).hello })

        Progress.say("phases: sandbox starts after an idle gap (50 ms each), fresh vs reused backend")
        let backend = BubblewrapBackend()
        var fresh: [Double] = [], reused: [Double] = [], inside: [Double] = []
        for round in 0..<(n + options.warmup) {
            usleep(50_000)
            let made = try await AirlockRuns.startToFirstResult(host)
            usleep(50_000)
            let kept = try await AirlockRuns.startToFirstResult(host, backend: backend)
            if round >= options.warmup {
                fresh.append(made.total)
                reused.append(kept.total)
                inside.append(kept.start)
            }
        }
        add("airlock start → first result, idle, new backend", "BubblewrapBackend() made per start, 50 ms after the last start", fresh)
        add("airlock start → first result, idle, reused backend", "no HostLayout/CgroupHost probing per start", reused)
        add("  of which backend.start (its own figure)", "start() entry → hello", inside)
        return phases
    }
}

func timed(_ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    body()
    return (clock.now - start).milliseconds
}

/// Times the cgroup moves the way a sandbox start meets them in real use: with no other
/// move in the last 50 ms (back-to-back moves are cheaper; see docs/benchmarks.md).
private func idleCgroupJoin(_ cgroups: CgroupHost, _ raw: RawLaunch, name: String) throws(BenchError) -> (Double, Double) {
    let group: (any ControlGroup)?
    do { group = try cgroups.makeGroup(name: name, limits: ResourceLimits()) } catch { throw BenchError("cgroup: \(error)") }
    guard let group, let procs = group.procsFiles.first else { throw BenchError("no cgroup could be made") }
    defer {
        group.killAll()
        group.remove()
    }
    let child: pid_t
    do { child = try ChildProcess.spawn(ChildSpec(argv: ["/bin/sleep", "10"])) } catch { throw BenchError("\(error)") }
    usleep(50_000)
    let fd = open(procs, O_WRONLY | O_CLOEXEC)
    let digits = Array(String(child).utf8)
    let moved = timed { _ = write(fd, digits, digits.count) }
    close(fd)
    kill(child, SIGKILL)
    _ = ChildProcess.wait(child)
    usleep(50_000)
    var launch = raw
    launch.cgroupProcs = group.procsFiles
    let ran = try launch.runToCompletion()
    return (moved, ran)
}
