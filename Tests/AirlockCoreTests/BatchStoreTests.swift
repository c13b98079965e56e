import AirlockModels
import Foundation
import Testing
@testable import AirlockCore

/// Batches in the store, on SQLite and on a real PostgreSQL server.
@Suite struct BatchStoreTests {
    static func requests(_ count: Int) -> [BatchRunRequest] {
        (0..<count).map { index in
            BatchRunRequest(task: "task \(index)", model: "script:/x.json", workspace: "/w/\(index)", config: .object([:]),
                            request: .object(["argv": .array([.string("task \(index)")])]), needs: [])
        }
    }

    @Test("a batch is stored whole; its runs are claimed in file order, only through the batch, and reclaimed from a dead holder",
          arguments: StoreKind.allCases)
    func batchesAndClaims(kind: StoreKind) async throws {
        guard let fixture = try await StoreFixture.make(kind) else { return }
        defer { fixture.cleanUp() }
        let store = fixture.store
        let batch = try await store.createBatch(source: "/b/tasks.jsonl", options: .object(["concurrency": .int(2)]),
                                                runs: Self.requests(40), now: Date())
        #expect(batch.size == 40)
        #expect(try await store.resolveBatch(String(batch.id.prefix(batch.id.count - 2))).id == batch.id)
        #expect(try await store.batches(limit: 5).map(\.id) == [batch.id])
        await #expect(throws: StoreError.batchNotFound("b-nope")) { try await store.resolveBatch("b-nope") }
        let runs = try await store.batchRuns(batch: batch.id)
        #expect(runs.map(\.task) == (0..<40).map { "task \($0)" })
        #expect(Set(runs.map(\.id)).count == 40 && runs.allSatisfy { $0.status == .queued })

        // A worker never takes a batch's runs.
        #expect(try await store.claimRun(worker: "w", available: [], lease: .seconds(30)) == nil)
        let first = try #require(try await store.claimBatchRun(batch: batch.id, worker: "p1", lease: .seconds(30), reclaim: false))
        let second = try #require(try await store.claimBatchRun(batch: batch.id, worker: "p1", lease: .seconds(30), reclaim: false))
        #expect(first.run == runs[0].id && second.run == runs[1].id && !first.takeover)
        // Another process of the batch: without reclaim the held runs wait for their leases;
        // with it (the old process is known dead) they are taken over at once, first in order.
        let third = try #require(try await store.claimBatchRun(batch: batch.id, worker: "p2", lease: .seconds(30), reclaim: false))
        #expect(third.run == runs[2].id)
        let taken = try #require(try await store.claimBatchRun(batch: batch.id, worker: "p3", lease: .seconds(30), reclaim: true))
        #expect(taken.run == runs[0].id && taken.takeover && taken.epoch == first.epoch + 1)
    }
}
