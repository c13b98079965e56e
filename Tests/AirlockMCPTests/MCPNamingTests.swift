import AirlockCore
import AirlockMCP
import AirlockModels
import Testing

@Suite struct MCPNamingTests {
    @Test func namesAreCleanShortAndUnique() {
        #expect(MCPToolNames.name(server: "git", tool: "git_status", taken: []) == "mcp__git__git_status")
        #expect(MCPToolNames.name(server: "fs", tool: "read file/ü.v2", taken: []) == "mcp__fs__read_file___v2")
        let long = MCPToolNames.name(server: "server", tool: String(repeating: "x", count: 100), taken: [])
        #expect(long.count == 64 && long.hasPrefix("mcp__server__xxx"))
        // Two tools that clean to the same name: the second gets a hash suffix.
        let first = MCPToolNames.name(server: "s", tool: "a.b", taken: [])
        let second = MCPToolNames.name(server: "s", tool: "a/b", taken: [first])
        #expect(first == "mcp__s__a_b" && second != first && second.hasPrefix("mcp__s__a_b_") && second.count <= 64)
        let third = MCPToolNames.name(server: "s", tool: "a/b", taken: [first, second])
        #expect(third != second && third.count <= 64)
        for name in [first, second, third, long] {
            #expect(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        }
    }

    @Test func settingsFromTheConfigFile() throws {
        let file = try ConfigFile.parse("""
            mcp_servers:
              git:
                command: /usr/bin/python3
                args: ["-m", "mcp_server_git"]
                env: {A: "1"}
                call_timeout: 2m
                tools: {allow: ["git_*"], deny: ["git_reset"]}
            """, path: "/p/airlock.yaml")
        let servers = try MCPServerSettings.parse(try #require(file["mcp_servers"]).node, file: file.path)
        #expect(servers.count == 1)
        let git = servers[0]
        #expect(git.callTimeout == .seconds(120) && git.env == ["A": "1"])
        #expect(git.offers("git_status") && !git.offers("git_reset") && !git.offers("other"))

        func refusal(_ text: String) -> String {
            do {
                let file = try ConfigFile.parse(text, path: "/p/airlock.yaml")
                _ = try MCPServerSettings.parse(try #require(file["mcp_servers"]).node, file: file.path)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal("mcp_servers:\n  a:\n    args: [x]\n").contains("/p/airlock.yaml:3: mcp_servers.a.command: every server needs a command"))
        #expect(refusal("mcp_servers:\n  a:\n    command: x\n    shell: true\n").contains("mcp_servers.a.shell: unknown key"))
        #expect(refusal("mcp_servers:\n  a__b:\n    command: x\n").contains("no double underscore"))
        #expect(refusal("mcp_servers:\n  a:\n    command: x\n    call_timeout: soon\n").contains("call_timeout: expected seconds"))
    }
}
