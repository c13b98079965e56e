import AirlockMCP
import AirlockModels
import Foundation
import Testing

/// Mutational fuzzing of the MCP message decoder: what a hostile server in the sandbox can
/// write to its stdout. No input may trap; a decoded message re-encodes to a line that
/// decodes to the same message; the seeds themselves decode as expected.
@Suite("Fuzz: MCP messages")
struct FuzzMCPTests {
    @Test("the seeds decode (a batch is refused)")
    func seeds() {
        let corpus = Fuzzer.corpus("mcp")
        #expect(corpus.count >= 8)
        let decoded = corpus.map { MCPMessage.decode($0) }
        #expect(decoded.filter { if case .success = $0 { return true } else { return false } }.count == corpus.count - 1)
    }

    @Test("fuzz: decoding never traps and round-trips what it accepts")
    func decoder() async {
        let (accepted, problems) = await onOwnThread { findings -> Int in
            var fuzzer = Fuzzer(corpus: Fuzzer.corpus("mcp"))
            var accepted = 0
            for _ in 0..<Fuzzer.iterations {
                let input = fuzzer.next()
                guard case .success(let message) = MCPMessage.decode(input) else { continue }
                accepted += 1
                guard case .success(let again) = MCPMessage.decode([UInt8](message.encoded)), again == message else {
                    findings.record("no round trip for \(Fuzzer.describe(input))")
                    continue
                }
            }
            return accepted
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(accepted > 0, "some mutations stay valid")
    }
}
