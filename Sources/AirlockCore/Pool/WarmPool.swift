import AirlockSandbox
import Foundation

/// Sandboxes started ahead of the runs that will use them (`--warm N`). The pool is told
/// which configurations the next runs need (`expect`) and keeps up to `size` of them
/// started; a run `take`s one in microseconds instead of starting one. A sandbox serves
/// exactly one run: it leaves the pool when taken, the run kills it at its end, and an id
/// is never handed out twice. One that died while waiting is noticed (at every take and by
/// a sweep) and replaced, never handed out. Configurations no longer expected are drained:
/// their sandboxes are killed.
///
/// A workspace has at most one sandbox at a time: the pool starts none for a workspace that
/// a ready, starting or handed-out live sandbox already has (a root harness hands a
/// root-owned workspace to the sandbox uid and takes it back when that sandbox ends, which
/// would leave a second one unable to write). So runs with their own workspaces (a batch's
/// template copies) are served ahead; runs sharing one get theirs once the previous
/// run's sandbox has ended.
public actor WarmPool {
    public struct Stats: Sendable, Hashable {
        public var started = 0
        public var handedOut = 0
        /// Ready sandboxes found dead, killed and replaced.
        public var replaced = 0
        /// Ready sandboxes killed because their configuration was no longer expected.
        public var drained = 0
        public var startFailures = 0
    }

    struct Key: Hashable {
        var backend: String
        var configuration: SandboxConfiguration
    }

    struct Ready {
        var key: Key
        var sandbox: any Sandbox
        var since: ContinuousClock.Instant
    }

    public nonisolated let size: Int
    private var backends: [String: any SandboxBackend] = [:]
    private var wanted: [Key] = []
    private var ready: [Ready] = []
    private var starting: [Key] = []
    private var handed: Set<String> = []
    /// Handed-out sandboxes not yet killed, by workspace: none is started beside them.
    private var busy: [(workspace: String, sandbox: any Sandbox)] = []
    private var inUse: Set<String> = []
    private var closed = false
    private var sweeper: Task<Void, Never>?
    public private(set) var stats = Stats()

    public init(size: Int) {
        self.size = max(0, size)
    }

    /// The configurations the next runs will use, in order (a worker that cannot see ahead
    /// gives the last run's, `size` times). Only the first `size` count.
    /// `inUse`: workspaces that sandboxes started outside the pool have now (runs that
    /// started cold); none is started for them.
    public func expect(_ upcoming: [(backend: any SandboxBackend, configuration: SandboxConfiguration)],
                       inUse: Set<String> = []) {
        guard !closed else { return }
        self.inUse = inUse
        // A backend that names the run in its sandbox from the start (a pod's run label, which
        // resume and gc go by) is never started ahead: its runs start cold.
        let upcoming = upcoming.filter(\.backend.poolable)
        for item in upcoming { backends[item.backend.name] = item.backend }
        wanted = upcoming.prefix(size).map { Key(backend: $0.backend.name, configuration: $0.configuration) }
        var missing = Self.counts(wanted)
        var keep: [Ready] = []
        for entry in ready {
            if missing[entry.key, default: 0] > 0 {
                missing[entry.key, default: 0] -= 1
                keep.append(entry)
            } else {
                stats.drained += 1
                let sandbox = entry.sandbox
                Task { await sandbox.kill() }
            }
        }
        ready = keep
        refill()
        if sweeper == nil {
            sweeper = Task { [weak self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: .milliseconds(100))
                    await self?.sweep()
                }
            }
        }
    }

    /// A ready, live sandbox of this configuration, or nil (the caller starts one).
    public func take(_ configuration: SandboxConfiguration, backend: String) -> PooledSandbox? {
        let began = ContinuousClock.now
        let key = Key(backend: backend, configuration: configuration)
        sweep()
        guard let index = ready.firstIndex(where: { $0.key == key && $0.sandbox.isAlive && !handed.contains($0.sandbox.id) }) else {
            return nil
        }
        let entry = ready.remove(at: index)
        handed.insert(entry.sandbox.id)
        busy.append((configuration.workspace, entry.sandbox))
        if let slot = wanted.firstIndex(of: key) { wanted.remove(at: slot) }
        stats.handedOut += 1
        let now = ContinuousClock.now
        let id = entry.sandbox.id
        return PooledSandbox(base: entry.sandbox, configuration: configuration, waitedMilliseconds: Self.milliseconds(now - entry.since),
                             takeMicroseconds: Self.milliseconds(now - began) * 1000,
                             released: { [weak self] in await self?.release(id) })
    }

    /// How many sandboxes wait ready now.
    public var readyCount: Int { ready.count }

    /// The ready sandboxes (for tests that kill one from outside).
    public var readySandboxes: [any Sandbox] { ready.map(\.sandbox) }

    /// Kills every ready sandbox and starts no more.
    public func shutdown() async {
        closed = true
        sweeper?.cancel()
        sweeper = nil
        let sandboxes = ready.map(\.sandbox)
        ready = []
        wanted = []
        for sandbox in sandboxes { await sandbox.kill() }
    }

    /// A handed-out sandbox was killed (its kill returns once its workspace is given back):
    /// its workspace is free again.
    private func release(_ id: String) {
        busy.removeAll { $0.sandbox.id == id }
        refill()
    }

    /// Dead ready sandboxes are killed (reaped) and replaced while still expected.
    private func sweep() {
        let dead = ready.filter { !$0.sandbox.isAlive }
        ready.removeAll { !$0.sandbox.isAlive }
        for entry in dead {
            stats.replaced += 1
            let sandbox = entry.sandbox
            Task { await sandbox.kill() }
        }
        refill()
    }

    /// Starts what the expected configurations lack, one sandbox per free workspace.
    private func refill() {
        guard !closed else { return }
        var missing = Self.counts(wanted)
        for entry in ready { missing[entry.key, default: 0] -= 1 }
        for key in starting { missing[key, default: 0] -= 1 }
        for key in wanted where missing[key, default: 0] > 0 {
            let workspace = key.configuration.workspace
            let taken = ready.contains { $0.key.configuration.workspace == workspace }
                || starting.contains { $0.configuration.workspace == workspace }
                || busy.contains { $0.workspace == workspace } || inUse.contains(workspace)
            guard !taken else { continue }
            missing[key, default: 0] -= 1
            start(key)
        }
    }

    private func start(_ key: Key) {
        guard let backend = backends[key.backend] else { return }
        starting.append(key)
        Task {
            let sandbox: (any Sandbox)?
            do { sandbox = try await backend.start(key.configuration) } catch { sandbox = nil }
            await self.started(key, sandbox)
        }
    }

    private func started(_ key: Key, _ sandbox: (any Sandbox)?) async {
        if let slot = starting.firstIndex(of: key) { starting.remove(at: slot) }
        guard let sandbox else {
            stats.startFailures += 1
            return
        }
        let have = ready.filter { $0.key == key }.count
        let need = wanted.filter { $0 == key }.count
        guard !closed, have < need else {
            await sandbox.kill()
            return
        }
        stats.started += 1
        ready.append(Ready(key: key, sandbox: sandbox, since: .now))
    }

    private static func counts(_ keys: [Key]) -> [Key: Int] {
        keys.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
