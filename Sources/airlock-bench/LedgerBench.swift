import AirlockCore
import AirlockStoreSQLite
import AirlockModels
import Foundation

/// `airlock-bench ledger`: appends per second with the store's durability setting
/// (WAL + synchronous=FULL: one fsync per append), and the cost of `verify` per 10,000
/// entries, read back from SQLite and recomputed.
enum LedgerBench {
    static func run(appends: Int) throws -> String {
        let payload: JSONValue = .object([
            "call": "call_7", "name": "shell", "status": "completed", "exit_code": .int(0),
            "stdout": .string(String(repeating: "output line\n", count: 8)), "wall_ms": .double(12.5),
        ])
        // Durable appends on the disk the state dir normally lives on.
        let disk = try scratch(under: NSTemporaryDirectory())
        defer { try? FileManager.default.removeItem(at: disk) }
        let diskRate = try appendRate(stateDirectory: disk, count: appends, payload: payload)

        // 10,000 entries for verify; on tmpfs when there is one, since fsync is not what is measured.
        let memoryBase = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm/" : NSTemporaryDirectory()
        let memory = try scratch(under: memoryBase)
        defer { try? FileManager.default.removeItem(at: memory) }
        let store = try Store(stateDirectory: memory, redactor: .none)
        let run = try store.createRun(task: "bench", model: "script:bench", workspace: "/tmp", config: .object([:]), now: Date())
        let ledger = Ledger(store: store, run: run.id, redactor: .none)
        let filled = ContinuousClock.now
        let semaphore = DispatchSemaphore(value: 0)
        let box = ResultBox()
        Task {
            do {
                for _ in 0..<10_000 { _ = try await ledger.append(.toolResult, payload) }
            } catch {
                box.error = "\(error)"
            }
            semaphore.signal()
        }
        semaphore.wait()
        if let error = box.error { throw BenchError(error) }
        let memoryAppendMs = (ContinuousClock.now - filled).ms

        var fromStore: [Double] = []
        var inMemory: [Double] = []
        let entries = try store.ledgerEntries(run: run.id, after: 0)
        for _ in 0..<5 {
            let began = ContinuousClock.now
            let report = LedgerVerifier.verify(entries: try store.ledgerEntries(run: run.id, after: 0), run: run.id)
            fromStore.append((ContinuousClock.now - began).ms)
            guard report.ok else { throw BenchError("verify failed on an untouched ledger: \(report)") }
            let pure = ContinuousClock.now
            _ = LedgerVerifier.verify(entries: entries, run: run.id)
            inMemory.append((ContinuousClock.now - pure).ms)
        }
        let store5 = Series(name: "verify 10k (read + recompute)", samples: fromStore)
        let pure5 = Series(name: "verify 10k (recompute only)", samples: inMemory)
        return """
            ledger (WAL, synchronous=FULL)
              durable appends on \(disk.path): \(fmt(diskRate, 0)) appends/s (\(fmt(1000 / max(diskRate, 0.001), 3)) ms each, \(appends) appends)
              appends on \(memoryBase) (no real fsync): \(fmt(10_000 / max(memoryAppendMs / 1000, 0.000001), 0)) appends/s
              verify per 10,000 entries: \(fmt(store5.median, 1)) ms median reading from SQLite and recomputing, \(fmt(pure5.median, 1)) ms recomputing only
            """
    }

    private static func appendRate(stateDirectory: URL, count: Int, payload: JSONValue) throws -> Double {
        let store = try Store(stateDirectory: stateDirectory, redactor: .none)
        let run = try store.createRun(task: "bench", model: "script:bench", workspace: "/tmp", config: .object([:]), now: Date())
        let ledger = Ledger(store: store, run: run.id, redactor: .none)
        let semaphore = DispatchSemaphore(value: 0)
        let box = ResultBox()
        let began = ContinuousClock.now
        Task {
            do {
                for _ in 0..<count { _ = try await ledger.append(.toolResult, payload) }
            } catch {
                box.error = "\(error)"
            }
            semaphore.signal()
        }
        semaphore.wait()
        if let error = box.error { throw BenchError(error) }
        return Double(count) / max((ContinuousClock.now - began).ms / 1000, 0.000001)
    }

    private static func scratch(under base: String) throws -> URL {
        let url = URL(fileURLWithPath: base).appendingPathComponent("airlock-bench-ledger-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Carries an error out of a task the bench waits on synchronously.
final class ResultBox: @unchecked Sendable {
    var error: String?
}

extension Duration {
    var ms: Double {
        let parts = components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }
}
