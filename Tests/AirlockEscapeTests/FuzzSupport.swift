import Foundation
import Synchronization

/// A deterministic, seeded mutational fuzzer: no dependency, same inputs on every run for
/// a given seed, so a failure is replayed by rerunning with the seed it printed.
///
/// `AIRLOCK_FUZZ_ITERATIONS` (default 2000) sets the inputs per target; `AIRLOCK_FUZZ_SEED`
/// the seed (default fixed).
struct Fuzzer {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["AIRLOCK_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 2000
    }

    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["AIRLOCK_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_A1B0
    }

    /// The seed files of one corpus directory (`Tests/Fuzz/corpus/NAME`), sorted by name.
    static func corpus(_ name: String, filePath: String = #filePath) -> [[UInt8]] {
        let root = URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/\(name)")
        let files = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return files.sorted().compactMap { FileManager.default.contents(atPath: root.appendingPathComponent($0).path) }
            .map { Array($0) }
    }

    var random: SplitMix64
    let corpus: [[UInt8]]

    init(corpus: [[UInt8]], seed: UInt64 = Fuzzer.seed) {
        self.corpus = corpus
        random = SplitMix64(seed: seed)
    }

    /// The next input: a corpus entry with one to four stacked mutations.
    mutating func next() -> [UInt8] {
        var bytes = corpus[random.below(corpus.count)]
        for _ in 0...random.below(4) where bytes.count < 4 << 20 { mutate(&bytes) }
        return bytes
    }

    static let interesting: [UInt8] = Array(#"{}[]":,\0 "#.utf8) + [0, 0x0A, 0x0D, 0x7F, 0x80, 0xC0, 0xFF, 0xE2, 0xF0]
    static let tokens: [String] = [
        "null", "true", "false", "0", "-1", "1e308", "-1e400", "18446744073709551616", "9223372036854775807",
        "-9223372036854775809", "99999999999999999999999999", "0.0000001", "\"\"", "\"\\ud800\"", "\"\\u0000\"",
        "{}", "[]", "\"\\\"", "NaN", "Infinity", "\"data: \"", "\n\n", "\r\n", "[DONE]", "\"type\":\"exit\"",
        "\"id\":0", "\"index\":-1", "\"index\":9223372036854775807",
    ]

    mutating func mutate(_ bytes: inout [UInt8]) {
        let count = bytes.count
        switch random.below(12) {
        case 0 where count > 0:  // bit flips
            for _ in 0...random.below(8) {
                bytes[random.below(count)] ^= UInt8(1) << UInt8(random.below(8))
            }
        case 1 where count > 0:  // an interesting byte
            bytes[random.below(count)] = Self.interesting[random.below(Self.interesting.count)]
        case 2:  // random bytes inserted
            let insert = (0..<(1 + random.below(16))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            bytes.insert(contentsOf: insert, at: random.below(count + 1))
        case 3 where count > 1:  // a range deleted
            let start = random.below(count)
            bytes.removeSubrange(start..<min(count, start + 1 + random.below(32)))
        case 4:  // truncated
            bytes = Array(bytes.prefix(random.below(count + 1)))
        case 5:  // spliced with another entry
            let other = corpus[random.below(corpus.count)]
            bytes = Array(bytes.prefix(random.below(count + 1))) + Array(other.suffix(random.below(other.count + 1)))
        case 6 where count > 0:  // a range duplicated
            let start = random.below(count)
            let piece = bytes[start..<min(count, start + 1 + random.below(64))]
            bytes.insert(contentsOf: piece, at: random.below(count + 1))
        case 7:  // a hostile token at a random place, or in place of a number
            let token = Array(Self.tokens[random.below(Self.tokens.count)].utf8)
            let probe = bytes.isEmpty ? 0 : random.below(bytes.count)
            if let digits = bytes[probe...].firstIndex(where: { (0x30...0x39).contains($0) }) {
                var end = digits
                while end < bytes.count && (0x30...0x39).contains(bytes[end]) { end += 1 }
                var start = digits
                while start > 0 && (0x30...0x39).contains(bytes[start - 1]) { start -= 1 }
                bytes.replaceSubrange(start..<end, with: token)
            } else {
                bytes.insert(contentsOf: token, at: random.below(count + 1))
            }
        case 8:  // deep nesting
            let depth = [10, 100, 600, 5_000, 50_000][random.below(random.below(8) == 0 ? 5 : 4)]
            let open: UInt8 = random.below(2) == 0 ? UInt8(ascii: "[") : UInt8(ascii: "{")
            let at = random.below(count + 1)
            let nest = open == UInt8(ascii: "[") ? [UInt8](repeating: open, count: depth)
                : Array(String(repeating: "{\"a\":", count: depth).utf8)
            bytes.insert(contentsOf: nest, at: at)
        case 9:  // a huge run inside
            let run = [UInt8](repeating: [UInt8(ascii: "A"), UInt8(ascii: "9"), UInt8(ascii: "\\"), 0x80][random.below(4)],
                              count: [100, 4096, 65536, 1 << 18][random.below(random.below(8) == 0 ? 4 : 3)])
            bytes.insert(contentsOf: run, at: random.below(count + 1))
        case 10:  // a quote or backslash somewhere
            bytes.insert([UInt8(ascii: "\""), UInt8(ascii: "\\")][random.below(2)], at: random.below(count + 1))
        default:  // a newline somewhere (splits frames and events)
            bytes.insert(UInt8(ascii: "\n"), at: random.below(count + 1))
        }
    }

    /// Cuts `bytes` into random chunks, as a pipe or a socket delivers them.
    mutating func chunks(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        var pieces: [ArraySlice<UInt8>] = []
        var start = 0
        while start < bytes.count {
            let small = bytes.count < 16384 && random.below(4) == 0
            let size = 1 + random.below(small ? 8 : 4096)
            pieces.append(bytes[start..<min(bytes.count, start + size)])
            start += size
        }
        return pieces
    }

    /// A short printable description of an input for a failure message.
    static func describe(_ bytes: [UInt8]) -> String {
        "\(bytes.count) bytes, base64 prefix: " + Data(bytes.prefix(512)).base64EncodedString()
    }
}

/// SplitMix64: tiny, fast, good enough to drive mutations deterministically.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<bound (bound > 0).
    mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(max(1, bound)))
    }
}

/// Problems a fuzz loop found, collected where it runs and reported by the test afterwards.
final class Findings: Sendable {
    private let items = Mutex<[String]>([])

    func record(_ problem: String) {
        items.withLock { if $0.count < 50 { $0.append(problem) } }
    }

    var all: [String] { items.withLock { $0 } }
}

/// Runs a long CPU-bound or blocking loop on a thread of its own. Swift's cooperative pool
/// has one thread per core (two here): a fuzz loop holding one for seconds starves the tests
/// running beside it that wait on timers and child processes. The loop reports problems
/// through `Findings`, which the test then expects to be empty.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable (Findings) -> T) async -> (T, [String]) {
    let findings = Findings()
    let result: T = await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body(findings)) }
        // Deeply nested inputs recurse in the parsers.
        thread.stackSize = 16 << 20
        thread.start()
    }
    return (result, findings.all)
}
