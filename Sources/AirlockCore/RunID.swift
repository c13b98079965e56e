import Foundation

/// Run ids like `r-20261129-134501-ab12`: UTC time first so ids sort by creation, four
/// random hex digits so two runs in the same second differ, short enough to type a prefix.
public enum RunID {
    public static func make(at date: Date = Date()) -> String {
        let suffix = String(UInt16.random(in: .min ... .max), radix: 16)
        return "r-" + Timestamp.compact(date) + "-" + String(repeating: "0", count: 4 - suffix.count) + suffix
    }
}
