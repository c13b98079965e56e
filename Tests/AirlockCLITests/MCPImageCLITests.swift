import AirlockTestSupport
import Foundation
import Testing

/// An MCP tool's image reaches a provider that takes images, in the provider's own wire
/// format: Anthropic puts image blocks in the `tool_result`, Chat Completions sends a user
/// message of `image_url` parts after the tool messages. The real binary, a real sandbox,
/// the SDK test server's `picture` tool, an in-test server speaking each provider's format.
@Suite("MCP images to the provider", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct MCPImageCLITests {
    static let server = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../AirlockMCPTests/Servers/sdk_server.py").standardized.path
    /// The base64 of the 1×1 PNG `picture` returns.
    static let png = Data([UInt8](hex: "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                                   + "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082")).base64EncodedString()

    static func scene() throws -> (RunScene, [String: String]) {
        try #require(FileManager.default.isExecutableFile(atPath: MCPCLITests.venv + "/bin/python"),
                     "the MCP venv is missing at \(MCPCLITests.venv); scripts/setup.sh builds it")
        let scene = try RunScene()
        try FileManager.default.copyItem(atPath: server, toPath: scene.workspace + "/sdk_server.py")
        try """
            mcp_servers:
              sdk:
                command: \(MCPCLITests.venv)/bin/python
                args: ["/workspace/sdk_server.py"]
                env: {PYTHONDONTWRITEBYTECODE: "1"}
                tools: {allow: [picture]}
            """.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        return (scene, ["XDG_CONFIG_HOME": scene.root + "/xdg"])
    }

    static func body(_ request: RecordedRequest) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] ?? [:]
    }

    @Test("Chat Completions: the tool message summarises, a user message of image_url parts follows")
    func openAI() async throws {
        let (scene, environment) = try Self.scene()
        defer { scene.remove() }
        let responses = [RunWire.call("call_1", "mcp__sdk__picture", [:]), RunWire.submit("call_2")]
        try await TestHTTPServer.with(responses) { server in
            let outcome = try await scene.run(["--model", "openai:test", "--base-url", server.baseURL + "/v1", "--json"],
                                              environment: environment.merging(["OPENAI_API_KEY": "sk-test"]) { $1 })
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            let requests = server.requests
            try #require(requests.count == 2, "stderr: \(outcome.stderr)")
            let messages = Self.body(requests[1])["messages"] as? [[String: Any]] ?? []
            let toolIndex = try #require(messages.firstIndex { $0["role"] as? String == "tool" }, "\(messages)")
            #expect((messages[toolIndex]["content"] as? String)?.contains("[image image/png") == true, "\(messages[toolIndex])")
            try #require(messages.count > toolIndex + 1, "no message after the tool result: \(messages)")
            let images = messages[toolIndex + 1]
            #expect(images["role"] as? String == "user")
            let parts = images["content"] as? [[String: Any]] ?? []
            let urls = parts.compactMap { ($0["image_url"] as? [String: Any])?["url"] as? String }
            #expect(urls == ["data:image/png;base64," + Self.png], "\(parts)")
            #expect(parts.first?["type"] as? String == "text" && parts.dropFirst().allSatisfy { $0["type"] as? String == "image_url" })
        }
    }

    @Test("Anthropic: the tool_result's content is a text block then an image block")
    func anthropic() async throws {
        let (scene, environment) = try Self.scene()
        defer { scene.remove() }
        func turn(_ id: String, _ name: String, _ input: [String: Any]) throws -> CannedResponse {
            let message: [String: Any] = [
                "id": "msg_\(id)", "type": "message", "role": "assistant", "model": "test",
                "content": [["type": "tool_use", "id": id, "name": name, "input": input]],
                "stop_reason": "tool_use", "usage": ["input_tokens": 10, "output_tokens": 5],
            ]
            return .json(String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self))
        }
        let responses = [try turn("toolu_1", "mcp__sdk__picture", [:]), try turn("toolu_2", "submit", ["answer": "seen"])]
        try await TestHTTPServer.with(responses) { server in
            let outcome = try await scene.run(["--model", "anthropic:test", "--base-url", server.baseURL, "--no-stream", "--json"],
                                              environment: environment.merging(["ANTHROPIC_API_KEY": "sk-ant-test"]) { $1 })
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            let requests = server.requests
            try #require(requests.count == 2, "stderr: \(outcome.stderr)")
            let messages = Self.body(requests[1])["messages"] as? [[String: Any]] ?? []
            let blocks = (messages.last?["content"] as? [[String: Any]]) ?? []
            let result = try #require(blocks.first { $0["type"] as? String == "tool_result" }, "\(messages)")
            #expect(result["tool_use_id"] as? String == "toolu_1")
            let content = result["content"] as? [[String: Any]] ?? []
            #expect(content.map { $0["type"] as? String } == ["text", "image"], "\(result)")
            #expect((content.first?["text"] as? String)?.contains("[image image/png") == true, "\(content)")
            let source = content.last?["source"] as? [String: Any] ?? [:]
            #expect(source["type"] as? String == "base64" && source["media_type"] as? String == "image/png"
                    && source["data"] as? String == Self.png, "\(source)")
        }
        // The ledger keeps the image's type and size, not its bytes.
        let runID = try #require(try await scene.runs().first?["id"] as? String)
        let results = try await scene.ledger(runID).filter { $0["kind"] as? String == "tool_result" }
            .compactMap { $0["payload"] as? [String: Any] }
        let images = results.first?["images"] as? [[String: Any]] ?? []
        #expect(images.first?["media_type"] as? String == "image/png" && images.first?["bytes"] as? Int == 67, "\(results)")
    }
}

extension Array where Element == UInt8 {
    init(hex: String) {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex, let next = hex.index(index, offsetBy: 2, limitedBy: hex.endIndex),
              let byte = UInt8(hex[index..<next], radix: 16) {
            bytes.append(byte)
            index = next
        }
        self = bytes
    }
}
