import AirlockTestSupport
import Foundation
import Testing

/// `python3` of the prometheus_client venv scripts/setup.sh makes, when it is there.
enum PrometheusParser {
    static let python: String? = {
        let venv = "/var/cache/airlock-test/prometheus-client"
        return FileManager.default.fileExists(atPath: venv + "/.complete") ? venv + "/bin/python3" : nil
    }()

    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    /// Fetches and parses `/metrics` with prometheus_client's parser, on a thread of its own.
    static func scrape(_ url: String, token: String? = nil) async throws -> (contentType: String, samples: [Sample]) {
        let python = try #require(python)
        let arguments = [AirlockBinary.repository + "/scripts/metrics-check.py", url] + (token.map { [$0] } ?? [])
        let (status, data) = await withCheckedContinuation { (continuation: CheckedContinuation<(Int32, Data), Never>) in
            Thread.detachNewThread {
                let check = Process()
                check.executableURL = URL(fileURLWithPath: python)
                check.arguments = arguments
                let output = Pipe()
                check.standardOutput = output
                check.standardError = output
                do { try check.run() } catch {
                    continuation.resume(returning: (-1, Data("\(error)".utf8)))
                    return
                }
                let data = output.fileHandleForReading.readDataToEndOfFile()
                check.waitUntilExit()
                continuation.resume(returning: (check.terminationStatus, data))
            }
        }
        let report = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard status == 0 else {
            throw POSIXError(.EPROTO, userInfo: [NSLocalizedDescriptionKey: String(decoding: data, as: UTF8.self)])
        }
        let samples = (report["samples"] as? [[String: Any]] ?? []).map { item in
            Sample(name: item["name"] as? String ?? "", labels: item["labels"] as? [String: String] ?? [:],
                   value: (item["value"] as? NSNumber)?.doubleValue ?? .nan)
        }
        return (report["content_type"] as? String ?? "", samples)
    }
}

extension [PrometheusParser.Sample] {
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
            .map(\.value).reduce(0, +)
    }
}

@Suite("airlock serve /metrics",
       .enabled(if: AirlockBinary.path != nil, "needs the built airlock executable beside the tests"),
       .enabled(if: PrometheusParser.python != nil,
                "needs prometheus_client in /var/cache/airlock-test/prometheus-client (scripts/setup.sh makes it)"),
       .timeLimit(.minutes(2)))
struct MetricsEndpointTests {
    @Test("after a batch of runs, prometheus_client parses /metrics and the counters match the ledgers")
    func countersMatchTheLedger() async throws {
        let scene = try RunScene(turns: [
            ["tool_calls": [["name": "shell", "arguments": ["command": "echo hi > a.txt"]]],
             "usage": ["input_tokens": 120, "output_tokens": 12]],
            ["tool_calls": [["name": "shell", "arguments": ["command": "exit 3"]]],
             "usage": ["input_tokens": 80, "output_tokens": 8]],
            ["tool_calls": [["name": "read_file", "arguments": ["path": "a.txt"]]],
             "usage": ["input_tokens": 40, "output_tokens": 4]],
            ["tool_calls": [["name": "submit", "arguments": ["answer": "ok"]]],
             "usage": ["input_tokens": 10, "output_tokens": 1]],
        ])
        defer { scene.remove() }
        let runs = 3
        for index in 0..<runs {
            let outcome = try await AirlockProcess.run(["run", "metrics \(index)", "--model", scene.model,
                                                        "--workspace", scene.workspace, "--state-dir", scene.stateDir])
            #expect(outcome.status == 0, "\(outcome.stderr)")
        }
        let serve = try AirlockProcess(["serve", "--port", "0", "--state-dir", scene.stateDir])
        defer { serve.cleanUp() }
        let port = try #require(await serve.servedPort(), "serve printed no URL: \(serve.stdout) \(serve.stderr)")
        let (contentType, samples) = try await PrometheusParser.scrape("http://127.0.0.1:\(port)/metrics")
        #expect(contentType.hasPrefix("text/plain"))

        // What the ledgers say, read back through `show --json`.
        var expected: [String: Double] = [:]
        let list = try await AirlockProcess.run(["runs", "--json", "--state-dir", scene.stateDir])
        let ids = list.stdout.split(separator: "\n").compactMap {
            ((try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any])?["id"] as? String
        }
        #expect(ids.count == runs)
        for id in ids {
            let shown = try await AirlockProcess.run(["show", id, "--json", "--state-dir", scene.stateDir])
            let record = (try? JSONSerialization.jsonObject(with: Data(shown.stdout.utf8))) as? [String: Any] ?? [:]
            for entry in record["ledger"] as? [[String: Any]] ?? [] {
                let payload = entry["payload"] as? [String: Any] ?? [:]
                switch entry["kind"] as? String {
                case "model_response":
                    expected["calls", default: 0] += 1
                    let usage = payload["usage"] as? [String: Any] ?? [:]
                    expected["input", default: 0] += (usage["input_tokens"] as? Double) ?? 0
                    expected["output", default: 0] += (usage["output_tokens"] as? Double) ?? 0
                case "tool_result":
                    expected["tool:" + (payload["status"] as? String ?? "?"), default: 0] += 1
                case "sandbox_started":
                    expected["sandboxes", default: 0] += 1
                case "run_finished":
                    expected["finished:" + (payload["outcome"] as? String ?? "?"), default: 0] += 1
                default:
                    break
                }
            }
        }
        #expect(expected["calls"] == 12 && expected["input"] == 750)
        #expect(samples.value("airlock_runs_started_total") == Double(runs))
        #expect(samples.value("airlock_runs_finished_total", ["outcome": "submitted"]) == expected["finished:submitted"])
        #expect(samples.value("airlock_runs", ["state": "finished"]) == Double(runs))
        #expect(samples.value("airlock_model_calls_total", ["status": "ok"]) == expected["calls"])
        #expect(samples.filter { $0.name == "airlock_model_calls_total" }.allSatisfy { !($0.labels["model"] ?? "").isEmpty })
        #expect(samples.value("airlock_model_tokens_total", ["direction": "input"]) == expected["input"])
        #expect(samples.value("airlock_model_tokens_total", ["direction": "output"]) == expected["output"])
        let toolTotal = samples.value("airlock_tool_calls_total")
        #expect(toolTotal == expected.filter { $0.key.hasPrefix("tool:") }.values.reduce(0, +))
        #expect(samples.value("airlock_tool_calls_total", ["tool": "shell"]) == Double(2 * runs))
        #expect(samples.value("airlock_tool_call_duration_seconds_count", ["tool": "read_file"]) == Double(runs))
        #expect(samples.value("airlock_sandbox_starts_total", ["backend": "bwrap"]) == expected["sandboxes"])
        #expect(samples.value("airlock_sandbox_start_seconds_count") == expected["sandboxes"])
        #expect(samples.value("airlock_approvals_pending") == 0)

        // A scrape after one more run counts it once (the fold continues, it does not restart).
        let more = try await AirlockProcess.run(["run", "one more", "--model", scene.model,
                                                 "--workspace", scene.workspace, "--state-dir", scene.stateDir])
        #expect(more.status == 0)
        let again = try await PrometheusParser.scrape("http://127.0.0.1:\(port)/metrics").samples
        #expect(again.value("airlock_runs_started_total") == Double(runs + 1))
        #expect(again.value("airlock_model_tokens_total", ["direction": "input"]) == (expected["input"] ?? 0) * 4 / 3)
    }

    @Test("beyond loopback /metrics needs the token, like every other route")
    func tokenProtected() async throws {
        let scene = try RunScene(turns: [["tool_calls": [["name": "submit", "arguments": ["answer": "ok"]]]]])
        defer { scene.remove() }
        let serve = try AirlockProcess(["serve", "--port", "0", "--host", "0.0.0.0", "--token", "s3cret-token",
                                        "--state-dir", scene.stateDir])
        defer { serve.cleanUp() }
        let port = try #require(await serve.servedPort(), "serve printed no URL: \(serve.stdout) \(serve.stderr)")
        await #expect(throws: (any Error).self) { try await PrometheusParser.scrape("http://127.0.0.1:\(port)/metrics") }
        let scraped = try await PrometheusParser.scrape("http://127.0.0.1:\(port)/metrics", token: "s3cret-token")
        #expect(scraped.samples.contains { $0.name == "airlock_approvals_pending" })
    }
}
