import Foundation

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-29T13:45:01.123Z`): fixed width, so
/// they sort as text, and exact to the millisecond, so the ledger's bytes are reproducible.
public enum Timestamp {
    /// Whole milliseconds since the epoch: what `rfc3339` writes, so two dates with the
    /// same value have the same text.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }

    public static func rfc3339(_ date: Date = Date()) -> String {
        let millis = milliseconds(date)
        let (seconds, milli) = millis.quotientAndRemainder(dividingBy: 1000)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        // Written digit by digit: String(format:) costs more than the rest of a ledger entry.
        var text = ""
        text.reserveCapacity(24)
        append(Int(parts.tm_year) + 1900, width: 4, to: &text)
        text.append("-")
        append(Int(parts.tm_mon) + 1, width: 2, to: &text)
        text.append("-")
        append(Int(parts.tm_mday), width: 2, to: &text)
        text.append("T")
        append(Int(parts.tm_hour), width: 2, to: &text)
        text.append(":")
        append(Int(parts.tm_min), width: 2, to: &text)
        text.append(":")
        append(Int(parts.tm_sec), width: 2, to: &text)
        text.append(".")
        append(Int(milli), width: 3, to: &text)
        text.append("Z")
        return text
    }

    /// `value` in decimal, zero-padded to `width` digits (years past 9999 keep all theirs).
    private static func append(_ value: Int, width: Int, to text: inout String) {
        let digits = String(value)
        if digits.count < width { text.append(String(repeating: "0", count: width - digits.count)) }
        text.append(digits)
    }

    /// `YYYYMMDD-HHMMSS` in UTC, for run ids.
    static func compact(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d%02d%02d-%02d%02d%02d",
                      Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
    }
}
