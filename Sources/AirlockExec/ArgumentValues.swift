/// The values `exec`'s and `run`'s flags take, parsed the same way wherever they are read
/// (`airlock`'s ArgumentParser types and `ExecFastPath` call these).
public enum ArgumentValues {
    /// A size in bytes: `134217728`, `128M`, `1.5G`, `64K`, `1GiB` (binary multiples); nil
    /// unless positive and finite.
    public static func bytes(_ argument: String) -> Int? {
        let text = trimmed(argument).uppercased()
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
        return Int(value * multiplier)
    }

    /// A duration with a unit: `500ms`, `30s`, `5m`, `1h` (a bare number means seconds), in
    /// milliseconds; nil unless positive and finite.
    public static func milliseconds(_ argument: String) -> Int? {
        let text = trimmed(argument).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        var seconds: Double?
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let value = Double(text.dropLast(suffix.count)) { seconds = value * scale }
            break
        }
        if seconds == nil { seconds = Double(text) }
        guard let seconds, seconds > 0, seconds.isFinite else { return nil }
        return Int((seconds * 1000).rounded())
    }

    /// Without leading and trailing blanks (spaces and tabs, not line ends).
    private static func trimmed(_ argument: String) -> Substring {
        let blank: (Character) -> Bool = { $0.isWhitespace && !$0.isNewline }
        var text = Substring(argument)
        while let first = text.first, blank(first) { text.removeFirst() }
        while let last = text.last, blank(last) { text.removeLast() }
        return text
    }
}
