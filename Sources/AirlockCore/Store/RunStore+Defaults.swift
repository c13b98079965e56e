import AirlockModels
import Foundation

/// The arguments most callers leave out, and what every store computes the same way.
extension RunStore {
    public func createRun(task: String, model: String, workspace: String,
                          config: JSONValue = .object([:])) async throws -> RunRecord {
        try await createRun(task: task, model: model, workspace: workspace, config: config, now: Date())
    }

    @discardableResult
    public func updateRun(_ id: String, _ change: @Sendable (inout RunRecord) -> Void) async throws -> RunRecord {
        try await updateRun(id, now: Date(), change)
    }

    public func runs() async throws -> [RunRecord] { try await runs(limit: nil) }

    public func latestRun() async throws -> RunRecord? { try await runs(limit: 1).first }

    public func ledgerEntries(run: String) async throws -> [LedgerEntry] {
        try await ledgerEntries(run: run, after: 0)
    }

    func appendLedgerEntry(run: String, kind: LedgerKind, payload: JSONValue,
                           now: @Sendable () -> Date) async throws -> LedgerEntry {
        let entries = try await appendLedgerEntries(run: run, items: [(kind, payload)], now: now)
        guard let entry = entries.first else { throw StoreError.internalError("no entry appended") }
        return entry
    }

    @discardableResult
    public func recordToolCall(run: String, step: Int, call: ToolCall,
                               status: ToolCallStatus = .proposed) async throws -> ToolCallRecord {
        try await recordToolCall(run: run, step: step, call: call, status: status, now: Date())
    }

    @discardableResult
    public func updateToolCall(run: String, callID: String, status: ToolCallStatus, result: String? = nil,
                               exitCode: Int? = nil, finished: Bool = false) async throws -> ToolCallRecord {
        try await updateToolCall(run: run, callID: callID, status: status, result: result, exitCode: exitCode,
                                 finished: finished, now: Date())
    }

    @discardableResult
    public func answerApproval(run: String, call: String, decision: ApprovalAnswer.Decision, reason: String?,
                               amount: Double? = nil, by: String) async throws -> Bool {
        try await answerApproval(run: run, call: call, decision: decision, reason: reason, amount: amount, by: by, now: Date())
    }

    /// Calls of a run waiting for an answer: asked in the ledger, not answered anywhere.
    public func pendingApprovals(run: String) async throws -> [(call: String, reason: String)] {
        let entries = try await ledgerEntries(run: run)
        let answered = Set(entries.filter { $0.kind == .approvalAnswered }.compactMap { $0.payload["call"]?.stringValue })
        var pending: [(String, String)] = []
        for entry in entries where entry.kind == .approvalRequested {
            guard let call = entry.payload["call"]?.stringValue, !answered.contains(call),
                  !pending.contains(where: { $0.0 == call }) else { continue }
            pending.append((call, entry.payload["reason"]?.stringValue ?? ""))
        }
        return pending
    }

    /// Recomputes the run's chain from the stored columns. A run marked finished whose
    /// ledger does not end with `run_finished` is reported as truncated, which catches the
    /// one deletion a hash chain alone cannot see: its tail.
    public func verifyLedger(run: String) async throws -> VerifyReport {
        let entries = try await ledgerEntries(run: run)
        let report = LedgerVerifier.verify(entries: entries, run: run)
        // A signature over the head may follow run_finished.
        let tail = entries.last?.kind == ChainSignature.kind ? entries.dropLast().last : entries.last
        guard report.ok, try await self.run(id: run)?.status == .finished,
              tail?.kind != .runFinished else { return report }
        return VerifyReport(ok: false, count: entries.count, firstBadSeq: entries.count + 1,
                            reason: "ledger truncated: the run is finished but its last entry is not run_finished",
                            headHash: report.headHash)
    }

    /// The run's ledger as JSONL (see `LedgerJSONL`).
    public func exportLedgerJSONL(run: String) async throws -> String {
        LedgerJSONL.encode(try await ledgerEntries(run: run))
    }

    /// Writes the JSONL export to `url`, replacing it.
    public func exportLedger(run: String, to url: URL) async throws {
        try Data(await exportLedgerJSONL(run: run).utf8).write(to: url, options: .atomic)
    }

    /// Builds the entries to append after `last` (seq and prev hash), with times from `now`:
    /// the one chaining rule both stores share.
    public static func chain(run: String, after last: (seq: Int, hash: String)?, items: [(LedgerKind, JSONValue)],
                             now: () -> Date) throws -> [LedgerEntry] {
        var seq = last?.seq ?? 0
        var prevHash = last?.hash ?? LedgerEntry.genesisHash
        guard var previous = LedgerEntry.hexBytes(prevHash), previous.count == 32 else {
            throw StoreError.internalError("stored prev hash of \(run) is not hex: \(prevHash)")
        }
        var built: [LedgerEntry] = []
        built.reserveCapacity(items.count)
        var time = ""
        var timeMillis: Int64?
        for (kind, payload) in items {
            seq += 1
            // Taken inside the transaction so times never go backwards along the chain;
            // the entries of one commit mostly share a millisecond, and so its text.
            let date = now()
            let millis = Timestamp.milliseconds(date)
            if millis != timeMillis {
                time = Timestamp.rfc3339(date)
                timeMillis = millis
            }
            let payloadJSON = payload.canonicalJSON
            let bytes = LedgerEntry.canonicalBytes(run: run, seq: seq, time: time, kind: kind, payloadJSON: payloadJSON)
            let digest = LedgerEntry.digest(previous: previous, canonicalBytes: bytes)
            let hash = LedgerEntry.hex(digest)
            built.append(LedgerEntry(run: run, seq: seq, time: time, kind: kind, payloadJSON: payloadJSON,
                                     prevHash: prevHash, hash: hash))
            prevHash = hash
            previous = digest
        }
        return built
    }
}

extension RunStore {
    /// At most `limit` entries after `seq`: what a follower (the live span exporter, the
    /// metrics fold) has not read yet.
    public func ledgerEntries(run: String, after seq: Int, limit: Int) async throws -> [LedgerEntry] {
        Array(try await ledgerEntries(run: run, after: seq).prefix(limit))
    }
}
