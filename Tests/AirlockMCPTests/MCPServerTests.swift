import AirlockCore
import AirlockMCP
import AirlockModels
import AirlockSandbox
import AirlockBubblewrap
import Foundation
import Testing

/// The PyPI servers (mcp-server-time, mcp-server-git) and an SDK-written one, inside real
/// sandboxes, through `MCPToolProvider` as a run uses it.
@Suite("MCP servers in the sandbox", .enabled(if: MCPFixture.available, MCPFixture.skipReason), .timeLimit(.minutes(2)))
struct MCPServerTests {
    @Test("time and git: tools listed with their schemas and annotations, called for real")
    func timeAndGit() async throws {
        let fixture = try await MCPFixture.start()
        defer { Task { await fixture.stop() } }
        let repo = fixture.workspace + "/repo"
        try FileManager.default.createDirectory(atPath: repo, withIntermediateDirectories: true)
        try "hello\n".write(toFile: repo + "/a.txt", atomically: true, encoding: .utf8)
        try MCPFixture.run("/usr/bin/git", ["init", "-q", "-b", "main"], in: repo)
        try MCPFixture.run("/usr/bin/chmod", ["-R", "a+rwX", fixture.workspace + "/repo"])
        var git = MCPFixture.server("git", ["-m", "mcp_server_git", "--repository", "/workspace/repo"])
        // The repository belongs to the host user, not the sandbox's: let git read it.
        git.env.merge(["GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory", "GIT_CONFIG_VALUE_0": "*"]) { $1 }
        let provider = MCPToolProvider(servers: [MCPFixture.server("time", ["-m", "mcp_server_time", "--local-timezone", "UTC"]), git])
        let listing = await provider.list(in: fixture.sandbox)
        #expect(listing.problems.isEmpty, "\(listing.problems)")
        let names = listing.tools.map(\.spec.name)
        #expect(names.contains("mcp__time__get_current_time") && names.contains("mcp__time__convert_time"), "\(names)")
        #expect(names.contains("mcp__git__git_status") && names.contains("mcp__git__git_commit"), "\(names)")
        #expect(listing.servers.compactMap { $0["revision"]?.stringValue } == ["2026-07-28", "2026-07-28"], "\(listing.servers)")
        #expect(listing.tool("mcp__time__get_current_time")?.origin["annotations"]?["readOnlyHint"] == .bool(true))

        let now = try await provider.call("mcp__time__get_current_time", ["timezone": "UTC"], listing, in: fixture.sandbox)
        #expect(!now.isError, "\(now.content)")
        #expect(now.content.contains("\"timezone\": \"UTC\""), "\(now.content)")
        #expect(now.record["structured_content"]?["timezone"] == .string("UTC"))

        let status = try await provider.call("mcp__git__git_status", ["repo_path": "/workspace/repo"], listing, in: fixture.sandbox)
        #expect(!status.isError, "\(status.content)")
        #expect(status.content.contains("a.txt"), "untracked file listed: \(status.content)")

        // The schema is checked before anything crosses: a wrong type never reaches the server.
        let tool = try #require(listing.tool("mcp__time__get_current_time"))
        #expect(!tool.schema.validate(["timezone": 5]).isEmpty)
        await provider.shutdown()
    }

    @Test("an SDK server: progress is kept, images are summarised, a slow call is cancelled and the server restarted")
    func sdkServer() async throws {
        let fixture = try await MCPFixture.start()
        defer { Task { await fixture.stop() } }
        let provider = MCPToolProvider(servers: [MCPFixture.server("sdk", ["/workspace/sdk_server.py"], callTimeout: .seconds(2))])
        let listing = await provider.list(in: fixture.sandbox)
        #expect(listing.problems.isEmpty, "\(listing.problems)")
        let counted = try await provider.call("mcp__sdk__count", ["steps": 3], listing, in: fixture.sandbox)
        #expect(counted.content.contains("counted 3"), "\(counted.content)")
        #expect(counted.record["progress"]?.arrayCount == 3, "\(counted.record)")
        let picture = try await provider.call("mcp__sdk__picture", [:], listing, in: fixture.sandbox)
        #expect(picture.content.contains("[image image/png"), "\(picture.content)")
        #expect(picture.images.map(\.mediaType) == ["image/png"] && picture.images.first?.byteCount == 67, "the image rides along for a model that takes it")
        let started = ContinuousClock.now
        let slow = try await provider.call("mcp__sdk__slow", ["seconds": 30], listing, in: fixture.sandbox)
        #expect(slow.isError && slow.content.contains("got no answer within 2000 ms"), "\(slow.content)")
        #expect(ContinuousClock.now - started < .seconds(10))
        let after = try await provider.call("mcp__sdk__noop", [:], listing, in: fixture.sandbox)
        #expect(!after.isError && after.content == "ok", "the server came back: \(after.content)")
        await provider.shutdown()
    }
}

extension JSONValue {
    var arrayCount: Int? {
        if case .array(let items) = self { return items.count }
        return nil
    }
}

@Suite("MCP servers and sandbox replacement", .enabled(if: MCPFixture.available, MCPFixture.skipReason), .timeLimit(.minutes(2)))
struct MCPReplacementTests {
    @Test("a server that died with its sandbox is started again in the replacement, without using up its restart")
    func restartedInReplacement() async throws {
        let fixture = try await MCPFixture.start()
        defer { Task { await fixture.stop() } }
        let provider = MCPToolProvider(servers: [MCPFixture.hostile()])
        let listing = await provider.list(in: fixture.sandbox)
        let first = try await provider.call("mcp__bad__ok", ["text": "one"], listing, in: fixture.sandbox)
        #expect(first.content == "ok: one")
        await fixture.sandbox.kill()
        let replacement = try await BubblewrapBackend().start(SandboxConfiguration(workspace: fixture.workspace))
        defer { Task { await replacement.kill() } }
        let second = try await provider.call("mcp__bad__ok", ["text": "two"], listing, in: replacement)
        #expect(!second.isError && second.content == "ok: two", "\(second.content)")
        // Its one restart after a failure is still there.
        let garbage = try await provider.call("mcp__bad__garbage", [:], listing, in: replacement)
        #expect(garbage.isError)
        let third = try await provider.call("mcp__bad__ok", ["text": "three"], listing, in: replacement)
        #expect(!third.isError && third.content == "ok: three", "\(third.content)")
        await provider.shutdown()
    }
}
