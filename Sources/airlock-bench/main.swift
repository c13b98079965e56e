import Foundation
import Glibc

// airlock-bench: Airlock's sandbox start and exec round trip against raw baselines, side
// by side in one run (DESIGN.md §6). Figures on stdout, progress on stderr.

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
