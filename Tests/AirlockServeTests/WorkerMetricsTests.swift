import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// `airlock worker --metrics-port`: a worker is SIGKILLed mid-call, a second one serving
/// /metrics takes its run over; prometheus_client parses the exposition and finds the
/// takeover counted and the one run nobody can serve still in the queue.
@Suite("airlock worker /metrics",
       .enabled(if: AirlockBinary.path != nil, "needs the built airlock executable beside the tests"),
       .enabled(if: PrometheusParser.python != nil,
                "needs prometheus_client in /var/cache/airlock-test/prometheus-client (scripts/setup.sh makes it)"),
       .timeLimit(.minutes(2)))
struct WorkerMetricsTests {
    @Test("queue depth and lease takeovers, parsed by prometheus_client")
    func queueDepthAndTakeovers() async throws {
        let root = NSTemporaryDirectory() + "airlock-worker-metrics-" + UUID().uuidString.prefix(8)
        let workspace = root + "/ws", state = root + "/state"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        func script(_ name: String, _ turns: [[String: Any]]) throws -> String {
            try JSONSerialization.data(withJSONObject: ["turns": turns]).write(to: URL(fileURLWithPath: root + "/\(name).json"))
            return "script:" + root + "/\(name).json"
        }
        func submit(_ model: String, _ extra: [String] = []) async throws -> String {
            let outcome = try await AirlockProcess.run(["submit", "task", "--model", model, "--workspace", workspace,
                                                        "--state-dir", state, "--json"] + extra)
            #expect(outcome.status == 0, "\(outcome.stderr)")
            let object = (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))) as? [String: Any]
            return object?["run"] as? String ?? ""
        }
        // The call outlasts any stall of this test: the kill must land while it runs, or the
        // first worker finishes the run itself and nobody takes it over. A takeover does
        // not run a call in flight again, so the length costs nothing.
        let slow = try script("slow", [RunScene.shell("echo started >> log; sleep 60"), RunScene.submit()])
        let held = try await submit(slow)
        func heldFinished() async throws -> Bool {
            let shown = try await AirlockProcess.run(["runs", "--json", "--state-dir", state])
            return shown.stdout.split(separator: "\n").contains { $0.contains("\"\(held)\"") && $0.contains("\"finished\"") }
        }
        _ = try await submit(try script("stuck", [RunScene.submit()]), ["--secret-env", "AIRLOCK_TEST_ABSENT_KEY"])

        let first = try AirlockProcess(["worker", "--name", "a", "--concurrency", "1", "--lease", "1s", "--state-dir", state])
        defer { first.cleanUp() }
        let deadline = ContinuousClock.now + .seconds(20)
        while (try? String(contentsOfFile: workspace + "/log", encoding: .utf8))?.contains("started") != true,
              ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(first.pid, SIGKILL)
        _ = await first.waitForExit(limit: .seconds(5))
        #expect(try await heldFinished() == false, "the first worker finished the run before it was killed")

        let second = try AirlockProcess(["worker", "--name", "b", "--concurrency", "1", "--lease", "1s",
                                         "--metrics-port", "0", "--state-dir", state])
        defer { second.cleanUp() }
        var port: Int?
        while port == nil, ContinuousClock.now < deadline + .seconds(20) {
            port = second.stderr.firstMatch(of: /metrics at http:\/\/127\.0\.0\.1:(\d+)\/metrics/).flatMap { Int($0.1) }
            if port == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let bound = try #require(port, "the worker printed no metrics URL: \(second.stderr)")
        // Once the taken-over run has finished, the counters settle.
        var finished = false
        while !finished, ContinuousClock.now < deadline + .seconds(40) {
            finished = try await heldFinished()
            if !finished { try await Task.sleep(for: .milliseconds(200)) }
        }
        #expect(finished, "the held run did not finish: \(second.stderr)")
        let (contentType, samples) = try await PrometheusParser.scrape("http://127.0.0.1:\(bound)/metrics")
        #expect(contentType.hasPrefix("text/plain; version=0.0.4"))
        #expect(samples.value("airlock_lease_takeovers_total") == 1, "\(samples.map(\.name))")
        #expect(samples.value("airlock_queue_depth") == 1)
        #expect(samples.contains { $0.name == "airlock_queue_depth" })

        // Beyond loopback without a token the worker refuses to start, naming the fix.
        let open = try await AirlockProcess.run(["worker", "--metrics-port", "0", "--metrics-host", "0.0.0.0", "--state-dir", state])
        #expect(open.status == 2)
        #expect(open.stderr.contains("--metrics-token"))
    }
}
