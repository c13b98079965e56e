import AirlockProtocol
import Foundation
import Testing

/// A live fuzz of the real guest process: a few hundred mutated request frames (bit flips,
/// truncation, splicing, junk, huge numbers, deep nesting), then one valid exec that must
/// still be answered. The guest runs unsandboxed here (`RawGuest`, its own workspace
/// only), so the mutations avoid `exec` frames that could decode to a real command: every
/// mutated frame's type is rewritten away from `exec`.
@Suite("Fuzz: live guest")
struct FuzzLiveGuestTests {
    static let seeds: [String] = [
        #"{"id":1,"type":"read_file","path":"a.txt","max_bytes":1048576}"#,
        #"{"id":2,"type":"write_file","path":"sub/b.txt","content":"aGVsbG8=","create_parents":true}"#,
        #"{"id":3,"type":"edit_file","path":"a.txt","old":"x","new":"y"}"#,
        #"{"id":4,"type":"list_files","path":"."}"#,
        #"{"id":5,"type":"stat","path":"a.txt"}"#,
        #"{"id":6,"type":"cancel","target":1}"#,
    ]

    @Test("fuzz: the real guest survives mutated frames and answers a final exec",
          .enabled(if: guestBinary != nil, "needs the airlock-guest binary"))
    func liveGuest() async throws {
        let workspace = try TemporaryDirectory("airlock-fuzz-guest")
        defer { workspace.remove() }
        try Data("x marks the spot\n".utf8).write(to: URL(fileURLWithPath: workspace.path + "/a.txt"))
        let guest = try RawGuest(workspace: workspace.path)
        #expect(await guest.waitUntil { $0.contains { if case .hello = $0.response { true } else { false } } })

        var random = LiveRandom(seed: 0xF022_5EED)
        let count = max(300, (ProcessInfo.processInfo.environment["AIRLOCK_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 0) / 10)
        for _ in 0..<count {
            var bytes = Array(Self.seeds[random.below(Self.seeds.count)].utf8)
            for _ in 0...random.below(3) { random.mutate(&bytes) }
            // Never let a mutation become a command: no `exec` type survives.
            let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "exec", with: "exe_")
            try guest.send(raw: Array(text.utf8) + [UInt8(ascii: "\n")])
        }
        // Something oversized and something deeply nested, too.
        try guest.send(raw: [UInt8](repeating: UInt8(ascii: "["), count: 9 << 20) + [UInt8(ascii: "\n")])
        try guest.send(raw: Array((String(repeating: #"{"id":"#, count: 100_000) + "1").utf8) + [UInt8(ascii: "\n")])

        let final = try await guest.call(999_999, .exec(ExecRequest(argv: ["/bin/echo", "still-here"], timeoutMs: 10_000)))
        guard case .exit(let status)? = final else {
            Issue.record("no exit for the final exec: \(String(describing: final))")
            _ = await guest.finish()
            return
        }
        #expect(status.code == 0)
        let output = guest.received.filter { $0.id == 999_999 }.compactMap { frame -> Data? in
            if case .stdout(let chunk) = frame.response { return chunk.data }
            return nil
        }.reduce(Data(), +)
        #expect(output == Data("still-here\n".utf8))
        #expect(guest.undecodable.isEmpty, "the guest wrote lines that are not frames: \(guest.undecodable.prefix(3))")
        #expect(guest.received.contains { if case .error(let e) = $0.response { e.code == "frame_too_large" } else { false } })
        let ended = await guest.finish()
        #expect(ended?.status == 0, "the guest did not exit cleanly on EOF")
    }
}

/// The mutator of the live fuzz (SplitMix64-driven, deterministic).
struct LiveRandom {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(1, bound))) }

    mutating func mutate(_ bytes: inout [UInt8]) {
        let count = bytes.count
        switch below(7) {
        case 0 where count > 0: bytes[below(count)] ^= UInt8(1) << UInt8(below(8))
        case 1: bytes = Array(bytes.prefix(below(count + 1)))
        case 2: bytes.insert(contentsOf: (0..<(1 + below(8))).map { _ in UInt8(truncatingIfNeeded: next()) }, at: below(count + 1))
        case 3:
            let tokens = ["18446744073709551616", "-1", "1e308", "null", "[]", "{}", "\"\\ud800\"", "\"../../etc/passwd\""]
            bytes.insert(contentsOf: Array(tokens[below(tokens.count)].utf8), at: below(count + 1))
        case 4: bytes.insert(contentsOf: [UInt8](repeating: UInt8(ascii: "["), count: [10, 1000, 100_000][below(3)]), at: below(count + 1))
        case 5 where count > 1:
            let start = below(count)
            bytes.removeSubrange(start..<min(count, start + 1 + below(16)))
        default: bytes.insert(UInt8(ascii: "\""), at: below(count + 1))
        }
    }
}
