import ArgumentParser
import Foundation

/// A size in bytes: `134217728`, `128M`, `1.5G`, `64K` (binary multiples).
struct ByteSize: ExpressibleByArgument, Sendable, Hashable {
    var bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).uppercased()
        let kib = 1024.0, mib = kib * 1024, gib = mib * 1024, tib = gib * 1024
        let units: [(String, Double)] = [("KIB", kib), ("MIB", mib), ("GIB", gib), ("TIB", tib),
                                         ("KB", kib), ("MB", mib), ("GB", gib), ("TB", tib),
                                         ("K", kib), ("M", mib), ("G", gib), ("T", tib), ("B", 1)]
        var multiplier = 1.0
        var number = Substring(text)
        for (suffix, value) in units where text.hasSuffix(suffix) {
            multiplier = value
            number = text.dropLast(suffix.count)
            break
        }
        guard let value = Double(number), value > 0, value.isFinite else { return nil }
        bytes = Int(value * multiplier)
    }

    static var defaultValueDescription: String { "bytes, or with K/M/G: 128M" }
}

/// A duration with a unit: `500ms`, `30s`, `5m`, `1h` (a bare number means seconds).
struct DurationValue: ExpressibleByArgument, Sendable, Hashable {
    var duration: Duration

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var seconds: Double?
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)) { seconds = value * scale }
            break
        }
        if seconds == nil { seconds = Double(text) }
        guard let seconds, seconds > 0, seconds.isFinite else { return nil }
        duration = .milliseconds(Int64((seconds * 1000).rounded()))
    }

    var milliseconds: Int {
        let parts = duration.components
        return Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
    }
}
