import AirlockCore
import Foundation
import Logging

/// Sends a run's spans while it runs. It follows the run's ledger (its own read of the
/// store, so the loop never waits on it), turns entries into spans as they end, and ships
/// them in batches from a bounded queue; the ledger is the durable buffer behind the queue.
/// A resumed run starts from the watermark, so spans of the part before a harness died go
/// out then, and none twice. A collector that is down or slow costs one warning.
public actor LiveTraceExporter {
    public struct Stats: Sendable, Equatable {
        public var sent = 0
        public var dropped = 0
        public var attempts = 0
        public var queued = 0
        public var peakQueued = 0

        public init() {}
    }

    private let sender: OTLPSender
    private let store: any RunStore
    private let logger: Logger
    private let includeContent: Bool
    private let retry: ExportRetry
    private let maxQueue: Int
    private let maxBatch: Int
    private let pollInterval: Duration
    private var task: Task<Void, Never>?
    private var stopping = false
    private var warned = false
    private var collectorDown = false
    private var stats = Stats()
    private var inFlight = 0
    private(set) var run: String?

    public init(configuration: OTLPConfiguration, store: any RunStore, logger: Logger, includeContent: Bool,
                retry: ExportRetry = ExportRetry(), maxQueue: Int = 2048, maxBatch: Int = 256,
                pollInterval: Duration = .milliseconds(200)) {
        sender = OTLPSender(configuration: configuration)
        self.store = store
        self.logger = logger
        self.includeContent = includeContent
        self.retry = retry
        self.maxQueue = max(1, maxQueue)
        self.maxBatch = max(1, min(maxBatch, maxQueue))
        self.pollInterval = pollInterval
    }

    /// Starts following `run` (the first call wins; later ones are ignored).
    public func follow(run: String) {
        guard task == nil else { return }
        self.run = run
        task = Task { await self.pump(run: run) }
    }

    /// Callable from a synchronous event handler: starts following without waiting.
    public nonisolated func followSoon(run: String) {
        Task { await self.follow(run: run) }
    }

    /// After the run: the last spans go out within `grace`, then whatever is left stays for
    /// `airlock export --otlp` (the watermark says what was not delivered).
    public func finish(grace: Duration) async -> Stats {
        stopping = true
        guard let task else { return stats }
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await task.value; return true }
            group.addTask { try? await Task.sleep(for: grace); return false }
            let first = await group.next() ?? false
            // The group waits for its children, and awaiting a task's value does not cancel
            // it: the pump itself must be cancelled for the grace to bound anything.
            if !first { task.cancel() }
            group.cancelAll()
            return first
        }
        if !finished {
            let unsent = stats.queued + inFlight
            if unsent > 0 {
                warnOnce("\(unsent) span(s) not sent to \(sender.configuration.endpoint) before exit "
                         + "(the collector is slow or away); `airlock export RUN --otlp` sends them")
            }
        }
        return stats
    }

    public var currentStats: Stats { stats }

    private func pump(run: String) async {
        let watermark = ExportWatermark(stateDirectory: store.stateDirectory, run: run)
        let delivered = watermark.read()
        var assembler = SpanAssembler(run: run, includeContent: includeContent)
        var queue: [(seq: Int, span: TraceSpan)] = []
        var cursor = 0
        var finishedSeen = false
        while !Task.isCancelled {
            // Read ahead only while the queue has room: memory stays bounded however long
            // the collector is away; what is not read yet waits in the ledger.
            var readAny = false
            if queue.count < maxQueue, !finishedSeen {
                // An entry ends at most one span, so this many entries cannot overfill it.
                let room = min(200, maxQueue - queue.count)
                let entries = (try? await store.ledgerEntries(run: run, after: cursor, limit: room)) ?? []
                readAny = !entries.isEmpty
                for entry in entries {
                    cursor = entry.seq
                    for span in assembler.add(entry) where entry.seq > delivered { queue.append((entry.seq, span)) }
                    if entry.kind == .runFinished { finishedSeen = true }
                }
                stats.queued = queue.count
                stats.peakQueued = max(stats.peakQueued, queue.count)
            }
            if !queue.isEmpty {
                let batch = takeBatch(&queue)
                inFlight = batch.count
                await ship(batch.map(\.span))
                inFlight = 0
                if Task.isCancelled { return }
                if let last = batch.last?.seq { try? watermark.write(last) }
                stats.queued = queue.count
                continue
            }
            if readAny { continue }
            if stopping || finishedSeen { return }
            try? await Task.sleep(for: pollInterval)
        }
    }

    /// Up to `maxBatch` spans, never splitting the spans that end at one entry (so the
    /// watermark after a batch is exact).
    private func takeBatch(_ queue: inout [(seq: Int, span: TraceSpan)]) -> [(seq: Int, span: TraceSpan)] {
        var count = min(maxBatch, queue.count)
        while count < queue.count, queue[count].seq == queue[count - 1].seq { count += 1 }
        let batch = Array(queue.prefix(count))
        queue.removeFirst(count)
        return batch
    }

    private func ship(_ spans: [TraceSpan]) async {
        let tries = collectorDown ? 1 : retry.attempts
        var lastReason = ""
        for attempt in 1...tries {
            stats.attempts += 1
            switch await sender.send(spans) {
            case .sent:
                stats.sent += spans.count
                collectorDown = false
                return
            case .rejected(let reason):
                drop(spans.count, reason: reason)
                return
            case .retry(let after, let reason):
                lastReason = reason
                // Once the run has ended, no backoff: the exit waits for no schedule.
                guard attempt < tries, !stopping, !Task.isCancelled else { break }
                await backoff(retry.delay(after: attempt, retryAfter: after))
                continue
            }
            break
        }
        collectorDown = true
        drop(spans.count, reason: lastReason)
    }

    /// Sleeps in short slices so that the end of the run (`finish`) cuts a backoff short.
    private func backoff(_ delay: Duration) async {
        let end = ContinuousClock.now + delay
        while !stopping, !Task.isCancelled, ContinuousClock.now < end {
            try? await Task.sleep(for: min(.milliseconds(50), end - ContinuousClock.now))
        }
    }

    private func drop(_ count: Int, reason: String) {
        stats.dropped += count
        warnOnce("could not export spans to \(sender.configuration.endpoint) (\(reason)); "
                 + "dropping them and going on (`airlock export RUN --otlp` sends them again)")
    }

    private func warnOnce(_ message: String) {
        guard !warned else { return }
        warned = true
        logger.warning("\(message)")
    }
}
