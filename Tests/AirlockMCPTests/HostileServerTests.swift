@testable import AirlockCore
import AirlockProtocol
import AirlockMCP
import AirlockModels
import AirlockSandbox
import Foundation
import Testing

/// Servers that misbehave on purpose (Servers/hostile.py): every failure is an error result
/// with a clear reason, the server is restarted once, and nothing else is disturbed.
@Suite("hostile MCP servers", .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3"), "needs /usr/bin/python3"),
       .timeLimit(.minutes(2)))
struct HostileServerTests {
    @Test("garbage, a 50 MB line, a crash: clear errors; restarted once, then disabled")
    func brokenOutput() async throws {
        let fixture = try await MCPFixture.start()
        defer { Task { await fixture.stop() } }
        let provider = MCPToolProvider(servers: [MCPFixture.hostile(callTimeout: .seconds(60))])
        let listing = await provider.list(in: fixture.sandbox)
        #expect(listing.problems.isEmpty, "\(listing.problems)")

        let garbage = try await provider.call("mcp__bad__garbage", [:], listing, in: fixture.sandbox)
        #expect(garbage.isError && garbage.content.contains("not MCP"), "\(garbage.content)")
        #expect(garbage.content.contains("this is not JSON-RPC"), "the message quotes what came: \(garbage.content)")
        let fine = try await provider.call("mcp__bad__ok", ["text": "hi"], listing, in: fixture.sandbox)
        #expect(!fine.isError && fine.content == "ok: hi", "restarted after the garbage: \(fine.content)")

        let big = try await provider.call("mcp__bad__big", [:], listing, in: fixture.sandbox)
        #expect(big.isError && big.content.contains("over the 4194304-byte cap"), "\(big.content)")
        // Its one restart is used: the next failure disables it for the run.
        let after = try await provider.call("mcp__bad__ok", ["text": "again"], listing, in: fixture.sandbox)
        #expect(after.isError && after.content.contains("disabled for this run"), "\(after.content)")
        await provider.shutdown()
    }

    @Test("a crash names the exit and the server's log; a flood is cut off")
    func crashAndFlood() async throws {
        let fixture = try await MCPFixture.start()
        defer { Task { await fixture.stop() } }
        let provider = MCPToolProvider(servers: [MCPFixture.hostile()])
        let listing = await provider.list(in: fixture.sandbox)
        let crash = try await provider.call("mcp__bad__crash", [:], listing, in: fixture.sandbox)
        #expect(crash.isError && crash.content.contains("exited with code 3"), "\(crash.content)")
        #expect(crash.content.contains("about to crash"), "stderr is the server's log: \(crash.content)")
        let provider2 = MCPToolProvider(servers: [MCPFixture.hostile()])
        let listing2 = await provider2.list(in: fixture.sandbox)
        let flood = try await provider2.call("mcp__bad__flood", [:], listing2, in: fixture.sandbox)
        #expect(flood.isError && flood.content.contains("a flood"), "\(flood.content)")
        await provider.shutdown()
        await provider2.shutdown()
    }

    @Test("never answering, or answering another id: the call times out, is cancelled, and the server is killed")
    func silentAndWrongID() async throws {
        let fixture = try await MCPFixture.start()
        defer { Task { await fixture.stop() } }
        let provider = MCPToolProvider(servers: [MCPFixture.hostile(callTimeout: .seconds(1))])
        let listing = await provider.list(in: fixture.sandbox)
        let started = ContinuousClock.now
        let hang = try await provider.call("mcp__bad__hang", [:], listing, in: fixture.sandbox)
        #expect(hang.isError && hang.content.contains("got no answer within 1000 ms and was cancelled"), "\(hang.content)")
        #expect(ContinuousClock.now - started < .seconds(5))
        // The hanging process is gone: its sandbox holds no python sleeping for an hour.
        let processes = try await fixture.sandbox.guest.exec(ExecRequest(shell: "cat /proc/[0-9]*/cmdline | tr '\\0' ' '"))
        #expect(!String(decoding: processes.stdout, as: UTF8.self).contains("hostile.py"), "killed after the timeout")
        let wrong = try await provider.call("mcp__bad__wrong_id", [:], listing, in: fixture.sandbox)
        #expect(wrong.isError && wrong.content.contains("got no answer"), "an answer for another id is not this call's: \(wrong.content)")
        await provider.shutdown()
    }

    @Test("a schema that is not JSON Schema disables that tool only; lying annotations are reported as claims")
    func badSchemaAndLies() async throws {
        let fixture = try await MCPFixture.start()
        defer { Task { await fixture.stop() } }
        let provider = MCPToolProvider(servers: [MCPFixture.hostile(["--bad-schema", "--liar"])])
        let listing = await provider.list(in: fixture.sandbox)
        #expect(listing.tool("mcp__bad__broken") == nil)
        #expect(listing.problems.contains { $0.contains("mcp__bad__broken is disabled: its input schema cannot be used") }, "\(listing.problems)")
        #expect(listing.tool("mcp__bad__ok") != nil, "the other tools are still offered")
        let liar = try #require(listing.tool("mcp__bad__delete_everything"))
        #expect(liar.origin["annotations"]?["readOnlyHint"] == .bool(true))
        // The policy decides on the name, whatever the server claims.
        let policy = Policy(default: .allow, rules: [Policy.Rule(tool: "mcp__bad__delete*", decision: .deny)])
        let verdict = PolicyEngine(policy: policy).decide(.provided(ProvidedCall(tool: liar.spec.name, arguments: [:])))
        #expect(verdict.decision == .deny)
        await provider.shutdown()
    }

    @Test("an old server without server/discover gets the handshake; renamed tools are listed again after list_changed")
    func oldRevisionAndRenames() async throws {
        let fixture = try await MCPFixture.start()
        defer { Task { await fixture.stop() } }
        let provider = MCPToolProvider(servers: [MCPFixture.hostile(["--old"])])
        let listing = await provider.list(in: fixture.sandbox)
        #expect(listing.servers.first?["revision"] == .string("2025-06-18"), "\(listing.servers)")
        #expect(await provider.toolsChanged() == false)
        let renamed = try await provider.call("mcp__bad__rename", [:], listing, in: fixture.sandbox)
        #expect(renamed.content == "renamed")
        #expect(await provider.toolsChanged() == true)
        let again = await provider.list(in: fixture.sandbox)
        #expect(again.tool("mcp__bad__rename_v1") != nil && again.tool("mcp__bad__rename") == nil, "\(again.tools.map(\.spec.name))")
        #expect(await provider.toolsChanged() == false)
        await provider.shutdown()
    }
}
