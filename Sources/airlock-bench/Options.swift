import Glibc
import AirlockBubblewrap

/// Command-line options of `airlock-bench`.
struct Options: Sendable {
    var iterations = 50
    var warmup = 5
    var json = false
    var phases = true

    static let usage = """
        usage: airlock-bench [--iterations N] [--warmup N] [--json] [--no-phases]
               airlock-bench ledger [APPENDS]    ledger appends/s and verify cost per 10,000 entries
               airlock-bench loop [STEPS]        harness overhead per agent step (scripted model)
               airlock-bench egress [REQUESTS]   the egress proxy's cost per request and per byte, vs direct
               airlock-bench egress-streams [REQUESTS]  the guest's relay to a bound socket (local tiers) vs as
                                                 streams over its channel (pods): latency and throughput
               airlock-bench tiers [ROUNDS] [TIER…]  every isolation tier (or those named: bwrap, oci/crun,
                                                 oci/runc, gvisor, landlock) vs raw crun/runc/runsc and the bare guest
               airlock-bench otlp [STEPS]        a step's cost with live OTLP export on vs off; exporter memory, collector down
               airlock-bench batch [RUNS]        warm pool take vs cold start; RUNS (100) runs in flight in one process:
                                                 memory, fds, threads; runs/min through `airlock batch` vs `airlock run`
               airlock-bench exec-process [RUNS] [AIRLOCK…]  whole `airlock exec -- /bin/true` processes (the
                                                 installed one on PATH, the built one) vs raw bwrap
               airlock-bench kubernetes [RUNS]  pod start, exec round trip and workspace copy vs kubectl on a cluster
                                                 (airlock-bench kubernetes --help)
               airlock-bench queue [RUNS]        PostgreSQL vs SQLite appends, claim and stop latency, runs/min
                                                 with 1, 2, 4 workers ($AIRLOCK_BENCH_DATABASE_URL or its own server)

        Measures, side by side in one run on this machine:
          1. sandbox start → first command's result (BubblewrapBackend.start + exec /bin/true)
             vs raw bwrap with the same flags running /bin/true vs bare fork/exec of /bin/true
          2. an exec round trip in a warm sandbox vs bare fork/exec+wait of /bin/true
          3. p99/p50 of every series
        and a per-phase breakdown of the sandbox start path.

        options:
          --iterations N   measured iterations per series (default 50)
          --warmup N       unmeasured iterations before each series (default 5)
          --json           print the figures as JSON on stdout instead of the table
          --no-phases      skip the per-phase breakdown
          --help           show this help

        Progress goes to stderr. The targets are reported, never enforced: the exit code is
        0 whenever the benchmark ran, non-zero only when a sandbox could not be started.
        """

    /// Parses the arguments, or returns the text to print and the exit code.
    static func parse(_ arguments: [String]) -> Result<Options, OptionsExit> {
        var options = Options()
        var index = 0
        func count(_ name: String) -> Result<Int, OptionsExit> {
            index += 1
            guard index < arguments.count, let value = Int(arguments[index]), value >= 0 else {
                return .failure(OptionsExit(message: "airlock-bench: \(name) needs a non-negative number\n\n\(usage)", code: 2))
            }
            return .success(value)
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--help", "-h":
                return .failure(OptionsExit(message: usage, code: 0))
            case "--json":
                options.json = true
            case "--no-phases":
                options.phases = false
            case "--iterations", "-n":
                switch count("--iterations") {
                case .success(let value): options.iterations = max(1, value)
                case .failure(let exit): return .failure(exit)
                }
            case "--warmup":
                switch count("--warmup") {
                case .success(let value): options.warmup = value
                case .failure(let exit): return .failure(exit)
                }
            default:
                return .failure(OptionsExit(message: "airlock-bench: unknown option \(arguments[index])\n\n\(usage)", code: 2))
            }
            index += 1
        }
        return .success(options)
    }
}

struct OptionsExit: Error {
    var message: String
    var code: Int32
}
