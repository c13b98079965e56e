import AirlockExec
import ArgumentParser
import Foundation

/// A size in bytes: `134217728`, `128M`, `1.5G`, `64K` (binary multiples).
struct ByteSize: ExpressibleByArgument, Sendable, Hashable {
    var bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        guard let bytes = ArgumentValues.bytes(argument) else { return nil }
        self.bytes = bytes
    }

    static var defaultValueDescription: String { "bytes, or with K/M/G: 128M" }
}

/// A duration with a unit: `500ms`, `30s`, `5m`, `1h` (a bare number means seconds).
struct DurationValue: ExpressibleByArgument, Sendable, Hashable {
    var duration: Duration

    init?(argument: String) {
        guard let milliseconds = ArgumentValues.milliseconds(argument) else { return nil }
        duration = .milliseconds(milliseconds)
    }

    var milliseconds: Int {
        let parts = duration.components
        return Int(parts.seconds) * 1000 + Int(parts.attoseconds / 1_000_000_000_000_000)
    }
}
