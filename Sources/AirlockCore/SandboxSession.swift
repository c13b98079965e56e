import AirlockModels
import AirlockSandbox
import Metrics

/// Owns the run's sandbox: starts it, hands it to tool calls, replaces it when it dies,
/// kills it at the end. With `freshPerCall`, every call gets a new one.
actor SandboxSession {
    private let backend: any SandboxBackend
    private let configuration: SandboxConfiguration
    private let freshPerCall: Bool
    private let maxReplacements: Int
    private let ledger: Ledger
    private var current: (any Sandbox)?
    private(set) var replacements = 0
    /// Set by `shutdown`: the run is ending (or was stopped from outside), so no call may
    /// start another sandbox.
    private var closed = false

    init(backend: any SandboxBackend, configuration: SandboxConfiguration, freshPerCall: Bool,
         maxReplacements: Int, ledger: Ledger) {
        self.backend = backend
        self.configuration = configuration
        self.freshPerCall = freshPerCall
        self.maxReplacements = maxReplacements
        self.ledger = ledger
    }

    /// The sandbox to use for the next call, started if there is none.
    func acquire() async throws -> any Sandbox {
        guard !closed else { throw SandboxError(.guestDied, "the run is ending; no sandbox may start") }
        if let current {
            if current.isAlive { return current }
            // It died between calls (killed from outside, OOM): recorded and counted as a
            // replacement like a death under a call, not silently restarted.
            guard try await died(reason: "the sandbox died between calls") else {
                throw SandboxError(.guestDied, "the sandbox was lost \(replacements) times (at most \(maxReplacements) replacements); last: it died between calls")
            }
        }
        let sandbox: any Sandbox
        do {
            sandbox = try await backend.start(configuration)
        } catch {
            // Not in the ledger (no sandbox came to be): counted here, for the process's /metrics.
            Counter(label: "airlock_sandbox_start_failures_total", dimensions: [("backend", backend.name)]).increment()
            throw error
        }
        current = sandbox
        var payload: [String: JSONValue] = [
            "sandbox": .string(sandbox.id), "backend": .string(backend.name),
            "backend_version": .string(backend.version),
            "start_ms": .double((sandbox.startMilliseconds * 10).rounded() / 10),
        ]
        if let image = configuration.root.ledgerPayload["digest"] { payload["image"] = image }
        for (key, value) in sandbox.ledgerDetails where payload[key] == nil { payload[key] = .string(value) }
        if let pooled = sandbox as? PooledSandbox {
            // Started ahead by the warm pool: how long it waited there, and the take itself.
            payload["pooled"] = .bool(true)
            payload["pool_wait_ms"] = .double((pooled.waitedMilliseconds * 10).rounded() / 10)
            payload["take_us"] = .double((pooled.takeMicroseconds * 10).rounded() / 10)
        }
        try await ledger.append(.sandboxStarted, .object(payload))
        return sandbox
    }

    /// After a call: a per-call sandbox ends here.
    func release() async throws {
        guard freshPerCall, let sandbox = current else { return }
        current = nil
        await sandbox.kill()
        try await ledger.append(.sandboxKilled, Self.killed(sandbox, reason: "fresh sandbox per call"))
    }

    /// The sandbox died under a call: record it, and say whether another may replace it.
    func died(reason: String) async throws -> Bool {
        let dead = current
        current = nil
        await dead?.kill()
        replacements += 1
        let allowed = replacements <= maxReplacements
        try await ledger.append(.sandboxReplaced, [
            "sandbox": .string(dead?.id ?? "?"), "reason": .string(reason),
            "replacements": .int(replacements), "limit": .int(maxReplacements), "replaced": .bool(allowed),
        ])
        return allowed
    }

    /// Kills the current sandbox without ending the session or counting a replacement (the
    /// run's own budget ended its call); the next call starts a fresh one.
    func discard(reason: String) async {
        guard let sandbox = current else { return }
        current = nil
        await sandbox.kill()
        _ = try? await ledger.append(.sandboxKilled, Self.killed(sandbox, reason: reason))
    }

    /// Ends the run's sandbox (the whole process tree goes with it).
    func shutdown(reason: String) async {
        closed = true
        guard let sandbox = current else { return }
        current = nil
        await sandbox.kill()
        _ = try? await ledger.append(.sandboxKilled, Self.killed(sandbox, reason: reason))
    }

    /// `sandbox_killed`'s payload: the id, why, and what the sandbox reports of its end.
    private static func killed(_ sandbox: any Sandbox, reason: String) -> JSONValue {
        var payload: [String: JSONValue] = ["sandbox": .string(sandbox.id), "reason": .string(reason)]
        for (key, value) in sandbox.endDetails where payload[key] == nil { payload[key] = .string(value) }
        return .object(payload)
    }
}
