import AirlockSandboxHost
import Foundation
import Testing

/// Host tools (`bwrap --version`, an OCI runtime's `delete`) are run from tasks that block
/// Swift's concurrency pool while they wait, so `ExecutableLookup.output` starts and reaps
/// them itself on the calling thread. (With Foundation's `Process`, two runs started side by
/// side under load sometimes waited out the whole 5 s timeout for `bwrap --version`:
/// `BudgetEscalationTests` failed 4 times in 50 that way, and 0 in 50 after the change.
/// These tests pin the new behaviour; they did not reproduce that stall on demand.)
@Suite("host tools run from the concurrency pool")
struct ExecutableLookupTests {
    @Test("many at once, from more tasks than the pool has threads: every one answers at once, none waits out its timeout")
    func manyAtOnceFromThePool() async throws {
        let width = ProcessInfo.processInfo.activeProcessorCount * 4
        let began = ContinuousClock.now
        let outputs = await withTaskGroup(of: String?.self) { group in
            for index in 0..<width {
                group.addTask { ExecutableLookup.output("/bin/echo", ["tool-\(index)"], timeout: 5) }
            }
            var all: [String?] = []
            for await output in group { all.append(output) }
            return all
        }
        let elapsed = ContinuousClock.now - began
        #expect(Set(outputs.compactMap { $0 }) == Set((0..<width).map { "tool-\($0)\n" }), "\(outputs)")
        // Each takes a millisecond or two; a starved one would take its whole 5 s timeout,
        // so anything under that tells them apart, however busy the pool's threads are.
        #expect(elapsed < .milliseconds(4500), "\(width) tools took \(elapsed)")
    }

    @Test("one that outlives its timeout is killed, within its bound; stdout and stderr both come back; a missing tool is nil")
    func timeoutAndStreams() async throws {
        let began = ContinuousClock.now
        #expect(ExecutableLookup.output("/bin/sleep", ["30"], timeout: 0.3) == nil)
        #expect(ContinuousClock.now - began < .seconds(3))
        let both = ExecutableLookup.output("/bin/sh", ["-c", "echo out; echo err >&2"])
        #expect(both?.contains("out\n") == true && both?.contains("err\n") == true, "\(both ?? "nil")")
        #expect(ExecutableLookup.output("/nonexistent/airlock-tool", []) == nil)
    }
}
