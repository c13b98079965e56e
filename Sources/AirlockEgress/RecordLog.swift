import Synchronization

/// Finished records in finish order, and the tag new connections pick up.
final class RecordLog: Sendable {
    private let records = Mutex<[EgressRecord]>([])
    private let currentTag = Mutex<String?>(nil)

    var tag: String? {
        get { currentTag.withLock { $0 } }
        set { currentTag.withLock { $0 = newValue } }
    }

    func append(_ record: EgressRecord) {
        records.withLock { $0.append(record) }
    }

    func take() -> [EgressRecord] {
        records.withLock { records in
            defer { records.removeAll() }
            return records
        }
    }
}
