import Foundation
import Glibc

// airlock-bench: Airlock's sandbox start and exec round trip against raw baselines, side
// by side in one run (DESIGN.md §6). Figures on stdout, progress on stderr.

// `airlock-bench tiers`: every isolation tier against raw runtimes, in one run.
if CommandLine.arguments.dropFirst().first == "tiers" {
    let count = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 20
    do {
        let host = try BenchHost.make()
        defer { host.remove() }
        let only = Set(CommandLine.arguments.dropFirst(3))
        print(try await TierBench.run(iterations: max(1, count), host: host, only: only))
        Glibc.exit(0)
    } catch {
        Progress.say("airlock-bench: \(error)")
        Glibc.exit(1)
    }
}

// `airlock-bench kubernetes [RUNS] …`: the pod tier against kubectl on the same cluster.
if CommandLine.arguments.dropFirst().first == "kubernetes" {
    switch KubernetesBench.parse(Array(CommandLine.arguments.dropFirst(2))) {
    case .failure(let error):
        let help = CommandLine.arguments.contains("--help") || CommandLine.arguments.contains("-h")
        if help { print(error.description) } else { Progress.say("airlock-bench: \(error)") }
        Glibc.exit(help ? 0 : 2)
    case .success(let (bench, json)):
        do {
            let host = try BenchHost.make()
            defer { host.remove() }
            let figures = try await bench.run(workspace: host.workspace)
            host.remove()  // exit() skips the defer
            print(json ? KubernetesBench.json(figures) : KubernetesBench.table(figures))
            Glibc.exit(0)
        } catch {
            Progress.say("airlock-bench: \(error)")
            Glibc.exit(1)
        }
    }
}

// `airlock-bench exec-process [RUNS] [AIRLOCK…]`: whole `airlock exec` processes vs raw bwrap.
if CommandLine.arguments.dropFirst().first == "exec-process" {
    let runs = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 30
    let named = Array(CommandLine.arguments.dropFirst(3))
    let binaries = named.isEmpty ? ProcessBench.defaultBinaries() : named
    do {
        guard !binaries.isEmpty else { throw BenchError("no airlock binary: name one, or install it (scripts/install.sh)") }
        let host = try BenchHost.make()
        defer { host.remove() }
        print(try ProcessBench.run(runs: max(runs, 1), binaries: binaries, host: host))
        Glibc.exit(0)
    } catch {
        Progress.say("airlock-bench: \(error)")
        Glibc.exit(1)
    }
}

// `airlock-bench image [RUNS]`: image import vs umoci, and sandbox start on an image.
if CommandLine.arguments.dropFirst().first == "image" {
    let runs = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 3
    do {
        let host = try BenchHost.make()
        defer { host.remove() }
        print(try await ImageBench.run(runs: max(runs, 1), workspace: host.workspace))
        Glibc.exit(0)
    } catch {
        Progress.say("airlock-bench: \(error)")
        Glibc.exit(1)
    }
}

// `airlock-bench ledger`, `loop`, `egress`, `mcp`, `otlp` and `queue`: the harness's own costs.
if let mode = CommandLine.arguments.dropFirst().first, ["ledger", "loop", "egress", "egress-streams", "mcp", "otlp", "queue", "batch"].contains(mode) {
    let count = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? (mode == "ledger" ? 1000 : mode == "egress" || mode == "egress-streams" ? 300 : mode == "queue" ? 20 : 100)
    do {
        if mode == "batch" {
            let host = try BenchHost.make()
            defer { host.remove() }
            print(try await DensityBench.run(runs: CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 100,
                                             workspace: host.workspace))
        } else if mode == "queue" {
            print(try await QueueBench.run(runs: count))
        } else if mode == "otlp" {
            let host = try BenchHost.make()
            try FileManager.default.createDirectory(atPath: host.workspace + "/empty", withIntermediateDirectories: true)
            defer { host.remove() }
            print(try await OTLPBench.run(steps: count, workspace: host.workspace))
        } else if mode == "mcp" {
            let host = try BenchHost.make()
            defer { host.remove() }
            print(try await MCPBench.run(calls: count, workspace: host.workspace))
        } else if mode == "ledger" {
            print(try LedgerBench.run(appends: count))
        } else if mode == "egress-streams" {
            let host = try BenchHost.make()
            defer { host.remove() }
            print(try await EgressStreamBench.run(requests: count, workspace: host.workspace))
        } else if mode == "egress" {
            let host = try BenchHost.make()
            defer { host.remove() }
            print(try await EgressBench.run(requests: count, workspace: host.workspace))
        } else {
            let host = try BenchHost.make()
            try FileManager.default.createDirectory(atPath: host.workspace + "/empty", withIntermediateDirectories: true)
            defer { host.remove() }
            print(try await LoopBench.run(steps: count, workspace: host.workspace))
        }
        Glibc.exit(0)
    } catch {
        Progress.say("airlock-bench: \(error)")
        Glibc.exit(1)
    }
}

let options: Options
switch Options.parse(Array(CommandLine.arguments.dropFirst())) {
case .success(let parsed):
    options = parsed
case .failure(let exit):
    if exit.code == 0 { print(exit.message) } else { Progress.say(exit.message) }
    Glibc.exit(exit.code)
}

func runBenchmark(_ options: Options, _ host: BenchHost) async throws(BenchError) -> Report {
    let start = try await Comparisons.start(host, options: options)
    let exec = try await Comparisons.exec(host, options: options)
    let phases = options.phases ? try await Phases.measure(host, options: options) : []
    return Report(options: options, start: start, exec: exec, phases: phases)
}

let host: BenchHost
do {
    host = try BenchHost.make()
} catch {
    Progress.say("airlock-bench: \(error)")
    Glibc.exit(1)
}
Progress.say("workspace \(host.workspace)" + (host.changesIDs ? " (sandbox uid \(host.uid))" : ""))
do {
    let report = try await runBenchmark(options, host)
    host.remove()
    print(options.json ? report.json() : report.table())
} catch {
    host.remove()
    Progress.say("airlock-bench: \(error)")
    Glibc.exit(1)
}
