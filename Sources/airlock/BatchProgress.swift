import AirlockCore
import AirlockModels
import Foundation
import Synchronization

/// What a running batch shows: with --json every run's events (tagged with the batch) on
/// stdout; on a terminal a status line redrawn on stderr (done / running / failed, tokens,
/// cost, elapsed, the slowest running runs); otherwise a line on stderr per finished run.
final class BatchProgress: Sendable {
    struct Totals: Sendable {
        var done = 0
        var failed = 0
        var tokens = 0
        var cost = 0.0
    }

    let batch: BatchRecord
    let json: Bool
    let interactive: Bool
    private let began = ContinuousClock.now
    private let running = Mutex<[String: (index: Int, since: ContinuousClock.Instant)]>([:])
    private let totals = Mutex(Totals())
    private let indexes: [String: Int]

    init(batch: BatchRecord, runs: [RunRecord], json: Bool, interactive: Bool) {
        self.batch = batch
        self.json = json
        self.interactive = interactive
        indexes = Dictionary(runs.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func event(_ event: RunEvent) {
        if json {
            var object = event.json
            if case .object(var members) = object {
                members["batch"] = .string(batch.id)
                object = .object(members)
            }
            Output.line(object.canonicalJSON)
        }
        if event.type == "run_started" || event.type == "run_resumed" {
            running.withLock { $0[event.run] = (indexes[event.run] ?? 0, .now) }
        }
    }

    /// A run of the batch ended (or could not start): one line unless on a terminal or --json.
    func ended(run: String, outcome: String, succeeded: Bool, reason: String) {
        running.withLock { _ = $0.removeValue(forKey: run) }
        totals.withLock { if succeeded { $0.done += 1 } else { $0.failed += 1 } }
        guard !json, !interactive else { return }
        let index = (indexes[run] ?? 0) + 1
        Output.error("\(succeeded ? "✓" : "✗") #\(index) \(run) \(outcome)\(succeeded ? "" : ": \(reason)")")
    }

    /// Usage read from the store (the runs' rows are kept current step by step).
    func update(tokens: Int, cost: Double) {
        totals.withLock { $0.tokens = tokens; $0.cost = cost }
    }

    /// Redraws the status line (terminal only).
    func draw(final: Bool = false) {
        guard interactive, !json else { return }
        let now = ContinuousClock.now
        let state = totals.withLock { $0 }
        let slowest = running.withLock { $0.values.sorted { $0.since < $1.since }.prefix(3) }
        let elapsed = Int((now - began).seconds)
        var line = "batch \(batch.id): \(state.done + state.failed)/\(batch.size) done · \(running.withLock { $0.count }) running · \(state.failed) failed"
        line += " · \(state.tokens) tok · $" + String(format: "%.4f", state.cost) + " · " + String(format: "%d:%02d", elapsed / 60, elapsed % 60)
        if !slowest.isEmpty {
            line += " · slowest: " + slowest.map { "#\($0.index + 1) \(Int((now - $0.since).seconds))s" }.joined(separator: " ")
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (final ? "\n" : "")).utf8))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
