import Foundation

/// `script:FILE`: replays assistant turns from a JSON file, one per `complete` call, so
/// tests, demos and policy dry-runs drive the real loop without a network.
public actor ScriptedModel: LanguageModel {
    public nonisolated let spec: ModelSpec
    private let turns: [ScriptedTurn]
    private var next = 0

    /// Reads `spec.name` as the script path.
    public init(spec: ModelSpec) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: spec.name))
        } catch {
            throw ModelError(.configuration, "cannot read model script '\(spec.name)': "
                                 + error.localizedDescription)
        }
        try self.init(spec: spec, json: data)
    }

    /// Parses a script held in memory; `spec` is only reported back.
    public init(spec: ModelSpec, json: Data) throws {
        self.spec = spec
        self.turns = try ScriptedTurn.parseScript(json, source: spec.name)
    }

    public init(path: String) throws {
        try self.init(spec: ModelSpec(provider: .script, name: path))
    }

    /// Passes over turns a resumed run already received (their responses are in its ledger).
    public func skip(_ count: Int) {
        next = min(turns.count, next + max(0, count))
    }

    /// Turns not yet replayed.
    public var remainingTurns: Int { turns.count - next }

    public func complete(_ request: ModelRequest, observer: ModelObserver?) async throws
        -> AssistantTurn
    {
        guard next < turns.count else {
            throw ModelError(.scriptExhausted,
                             "model script '\(spec.name)' has no turn left after \(turns.count)")
        }
        let turn = turns[next]
        next += 1
        if let delay = turn.delay {
            try await Task.sleep(for: delay)
        }
        if let text = turn.reply.text, !text.isEmpty {
            observer?(.textDelta(text))
        }
        return turn.reply
    }
}
