import Foundation

/// Which of a run's spans the collector already has, kept outside the ledger (the ledger
/// records the run, not deliveries): the highest ledger seq whose spans were all answered
/// (sent, or given up on), in `<state>/otlp/<run>.seq`. Span ids derive from the run and
/// the seq that opened them, and each span ends at one entry, so "every span ending at or
/// before this seq" is exactly the set already delivered. Written atomically after each
/// answered batch; a harness killed while a batch was in flight (or before this write)
/// sends that one batch again on resume: delivery is at least once, repeats limited to it.
public struct ExportWatermark: Sendable {
    public let file: URL

    public init(stateDirectory: URL, run: String) {
        file = stateDirectory.appendingPathComponent("otlp", isDirectory: true)
            .appendingPathComponent("\(run).seq")
    }

    public func read() -> Int {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return 0 }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    public func write(_ seq: Int) throws {
        let directory = file.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        try Data("\(seq)\n".utf8).write(to: file, options: .atomic)
    }
}
