@testable import AirlockKubernetes
import AirlockTestSupport
import Foundation
import NIOCore
import Testing

/// The watch's line framing and event reading, without a cluster.
@Suite("kubernetes: watch events are framed and read strictly")
struct WatchFramingTests {
    @Test("events split across chunks are reassembled; blank lines skipped")
    func reassembly() throws {
        var lines = WatchLines()
        let text = #"{"type":"ADDED","object":{"metadata":{"resourceVersion":"7"}}}"# + "\n\n" + #"{"type":"DELE"#
        #expect(try lines.take(ByteBuffer(string: text)).count == 1)
        let rest = try lines.take(ByteBuffer(string: #"TED","object":{}}"# + "\n"))
        #expect(rest.count == 1)
        guard case .deleted = try WatchEvent(line: try #require(rest.first), pod: "p") else {
            Issue.record("a DELETED event read as something else"); return
        }
    }

    @Test("410 Gone means list again; other ERROR events, garbage and unknown types are errors")
    func errors() throws {
        guard case .expired = try WatchEvent(line: Array(#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}}"#.utf8), pod: "p") else {
            Issue.record("410 not read as expired"); return
        }
        #expect(throws: KubeError.self) { try WatchEvent(line: Array(#"{"type":"ERROR","object":{"code":500,"message":"boom"}}"#.utf8), pod: "p") }
        #expect(throws: KubeError.self) { try WatchEvent(line: Array("not json".utf8), pod: "p") }
        #expect(throws: KubeError.self) { try WatchEvent(line: Array(#"{"type":"WHAT","object":{}}"#.utf8), pod: "p") }
        guard case .changed(_, let version) = try WatchEvent(line: Array(#"{"type":"MODIFIED","object":{"metadata":{"resourceVersion":"42"}}}"#.utf8), pod: "p") else {
            Issue.record("MODIFIED not read as a change"); return
        }
        #expect(version == "42")
    }

    @Test("a line past the cap is refused instead of buffered without end")
    func cap() throws {
        var lines = WatchLines()
        let big = ByteBuffer(bytes: [UInt8](repeating: UInt8(ascii: "x"), count: WatchLines.maxLine + 1))
        #expect(throws: KubeError.self) { _ = try lines.take(big) }
    }
}

/// Watching a real pod on the test cluster.
@Suite("kubernetes: a pod watched on the real cluster", .serialized, .timeLimit(.minutes(3)))
struct PodWatchTests {
    static let runID = "watch-\(getpid())"

    /// Not labelled as airlock's own: the CLI tests that run beside this one check that no
    /// airlock pod is left, and once saw this one.
    static func plainPod(_ name: String) -> [String: Any] {
        ["apiVersion": "v1", "kind": "Pod",
         "metadata": ["name": name, "labels": ["airlock.dev/run": runID, "app.kubernetes.io/managed-by": "airlock-tests"]],
         "spec": ["restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "automountServiceAccountToken": false,
                  "securityContext": ["runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": ["type": "RuntimeDefault"]],
                  "containers": [["name": "main", "image": TestCluster.image, "imagePullPolicy": "IfNotPresent",
                                  "command": ["sleep", "120"],
                                  "securityContext": ["allowPrivilegeEscalation": false, "capabilities": ["drop": ["ALL"]]],
                                  "resources": ["limits": ["cpu": "100m", "memory": "32Mi"], "requests": ["cpu": "100m", "memory": "32Mi"]]]]]]
    }

    @Test("running is seen as it happens; a delete ends the watch; a pod that never comes times out in bound")
    func lifecycle() async throws {
        guard TestCluster.present("PodWatchTests.lifecycle") else { return }
        let client = try TestCluster.client()
        let namespace = client.config.namespace ?? "default"
        let name = "airlock-watch-\(getpid())"
        defer {
            let cleanup = client
            Task { await cleanup.deletePodAndWait(name, namespace: namespace); await cleanup.shutdown() }
        }

        // Nothing there yet: the first state handed over is nil.
        let absent = try await client.watchPod(name, namespace: namespace, timeout: .seconds(10)) { pod in pod == nil ? true : nil }
        #expect(absent)

        _ = try await client.createPod(Self.plainPod(name), namespace: namespace)
        let phase = try await client.watchPod(name, namespace: namespace, timeout: .seconds(60)) { pod -> String? in
            let status = PodStatus(object: pod ?? [:])
            return status.phase == "Running" || status.phase == "Failed" ? status.phase : nil
        }
        #expect(phase == "Running")

        // A condition that never holds: a KubeError "Timeout" within the bound, not a hang.
        let began = ContinuousClock.now
        await #expect(throws: KubeError.self) {
            _ = try await client.watchPod(name, namespace: namespace, timeout: .seconds(2)) { _ -> Bool? in nil }
        }
        #expect(ContinuousClock.now - began < .seconds(10))

        // A watch under way sees the deletion.
        let watcher = Task {
            try await client.watchPod(name, namespace: namespace, timeout: .seconds(60)) { pod in pod == nil ? true : nil }
        }
        try await Task.sleep(for: .milliseconds(300))
        try await client.deletePod(name, namespace: namespace)
        let gone = try await withLimit(.seconds(60)) { try await watcher.value }
        #expect(gone)
        #expect(try await client.pods(namespace: namespace, selector: "airlock.dev/run=\(Self.runID)").isEmpty)
    }
}
