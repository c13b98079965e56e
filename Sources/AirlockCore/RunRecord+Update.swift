import Foundation

extension RunRecord {
    /// What every store does to a run it updates, inside its transaction: the change applied,
    /// the id kept, `updated_at` set (and `finished_at` once it first finishes), a changed task
    /// or config redacted.
    public func updated(by change: (inout RunRecord) -> Void, now: Date, redactor: Redactor) -> RunRecord {
        var record = self
        change(&record)
        record.id = id
        record.updatedAt = Timestamp.rfc3339(now)
        if record.status == .finished, status != .finished, record.finishedAt == nil {
            record.finishedAt = record.updatedAt
        }
        // What was stored was redacted when it was written: only a new value needs it
        // (the per-step counter updates leave both alone, and skip a walk of the config).
        if record.task != task { record.task = redactor.redact(record.task) }
        if record.config != config { record.config = redactor.redact(record.config) }
        return record
    }
}
