import AirlockTestSupport
import Foundation
import Testing

/// `--allow-host` on a pod that has no network: the guest's 127.0.0.1:3128 carries each
/// connection as a stream over its exec channel to the harness's proxy, which reaches the
/// test's loopback server. busybox `wget` in the test image uses the proxy through
/// `http_proxy`. Names are pinned to 127.0.0.1 with `--resolve`; nothing leaves the machine.
// In the serialized KubernetesCLITests suite: its tests check that no airlock pod is left,
// which a pod of this test running beside them would contradict.
extension KubernetesCLITests {
    @Test("a pod with no network reaches an allowed host with the secret substituted; an unlisted host is refused unseen; a cut download ends; the ledger records each request")
    func egressInPod() async throws {
        guard let kubeconfig = Self.kubeconfig else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let secret = "sk-pod-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        // /a answers; /cut announces 8 MiB, sends 1 MiB and drops the connection.
        let cut = CannedResponse(headers: [("content-length", String(8 << 20))],
                                 chunks: CannedResponse.split([UInt8](repeating: 0x62, count: 1 << 20), every: 64 << 10),
                                 pause: .zero, dropConnection: true)
        // /slow trickles 6.4 MiB over about 5 s; the client inside is killed after 1 s.
        let slow = CannedResponse(headers: [("content-length", String(100 << 16))],
                                  chunks: (0..<100).map { _ in [UInt8](repeating: 0x63, count: 1 << 16) }, pause: .milliseconds(50))
        try await TestHTTPServer.with([.json(#"{"pod":"pod-reached-ok"}"#), cut, slow, .json(#"{"after":"kill-survived-ok"}"#)]) { server in
            let port = server.port
            let model = try scene.script([
                RunScene.shell("wget -q -O - --header \"Authorization: Bearer $API_KEY\" http://allowed.test:\(port)/a; echo \" get=$?\""),
                RunScene.shell("wget -q -O - http://evil.test:\(port)/b 2>&1; echo \" refused=$?\""),
                RunScene.shell("wget -q -O cut.bin http://allowed.test:\(port)/cut 2>/dev/null; echo \" cut=$? bytes=$(wc -c < cut.bin)\""),
                RunScene.shell("wget -q -O /dev/null http://allowed.test:\(port)/slow & pid=$!; sleep 1; kill $pid; wait $pid; echo \" killed=$?\"; wget -q -O - http://allowed.test:\(port)/after"),
                RunScene.shell("echo \"ca=$SSL_CERT_FILE certs=$(grep -c BEGIN /run/airlock/egress/egress-ca.pem) key=$API_KEY\""),
                RunScene.submit("fetched through the guest"),
            ])
            let options = ["--allow-host", "allowed.test:\(port)", "--resolve", "allowed.test:127.0.0.1", "--resolve", "evil.test:127.0.0.1",
                           "--secret", "API_KEY", "--secret-host", "API_KEY=allowed.test:\(port)"]
            let started = ContinuousClock.now
            let outcome = try await RunBinary.run(["run", "fetch", "--workspace", scene.workspace, "--state-dir", scene.stateDir,
                                                   "--model", model, "--json"] + Self.kubeArguments(kubeconfig) + options,
                                                  environment: ["API_KEY": secret], limit: .seconds(150))
            #expect(outcome.status == 0, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
            #expect(ContinuousClock.now - started < .seconds(120), "the cut download did not hang the run")

            // The server: /a with the real secret, /cut, and never /b.
            #expect(server.requests.map(\.uri) == ["/a", "/cut", "/slow", "/after"], "\(server.requests.map(\.uri))")
            #expect(server.requests.first?.header("authorization") == "Bearer \(secret)", "the allowed host got the real value")

            let run = try #require(outcome.objects.compactMap { $0 }.first { $0["type"] as? String == "run_started" }?["run"] as? String)
            let ledger = try await scene.ledger(run)
            let results = ledger.filter { $0.kind == "tool_result" }.map { "\($0.payload)" }.joined(separator: "\n")
            #expect(results.contains("pod-reached-ok"), "wget printed the answer: \(results)")
            #expect(results.contains("get=0"), "\(results)")
            #expect(results.contains("403") || results.contains("Forbidden"), "the proxy's refusal reached wget: \(results)")
            #expect(!results.contains("refused=0"), "\(results)")
            #expect(!results.contains("cut=0"), "the cut download failed as such: \(results)")
            #expect(results.contains("ca=/run/airlock/egress/ca-bundle.pem certs=1"), "the per-run CA is in the pod: \(results)")
            #expect(!results.contains(secret), "inside, the secret is only a placeholder")
            #expect(results.contains("key=airlock-secret-API_KEY-"), "\(results)")

            let egress = ledger.filter { $0.kind == "egress_request" }.map(\.payload)
            let allowed = egress.first { $0["path"] as? String == "/a" }
            #expect(allowed?["allowed"] as? Bool == true && allowed?["host"] as? String == "allowed.test", "\(egress)")
            #expect((allowed?["secrets"] as? [String]) == ["API_KEY"], "\(egress)")
            #expect((allowed?["bytes_down"] as? Int ?? 0) > 0)
            #expect(allowed?["call"] as? String != nil, "the request names its tool call")
            let refused = egress.first { $0["host"] as? String == "evil.test" }
            #expect(refused?["allowed"] as? Bool == false, "\(egress)")
            let cutRecord = egress.first { $0["path"] as? String == "/cut" }
            #expect((cutRecord?["bytes_down"] as? Int ?? 0) >= 1 << 20, "\(egress)")
            // The client killed mid-download: its stream ended, the proxy closed the upstream early
            // and recorded it, and the next request through the same guest worked.
            #expect(results.contains("kill-survived-ok"), "\(results)")
            let slowRecord = egress.first { $0["path"] as? String == "/slow" }
            let slowBytes = slowRecord?["bytes_down"] as? Int ?? -1
            #expect(slowBytes > 0 && slowBytes < 100 << 16, "the killed download ended early: \(String(describing: slowRecord))")
            let verify = try await scene.command(["verify", run])
            #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
            // Only this run's pod: the cluster is shared with other tests' pods.
            let pod = try #require(ledger.first { $0.kind == "sandbox_started" }?.payload["pod"] as? String)
            #expect(!Self.pods(kubeconfig).contains("pod/" + pod), "the run's pod \(pod) was deleted")
        }
    }
}
