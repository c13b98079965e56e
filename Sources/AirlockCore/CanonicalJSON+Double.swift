extension CanonicalJSON {
    /// Formats a double as Python's `repr(float)` does. Swift's own `description` already finds
    /// the shortest round-trip digits but switches to exponent form at 2^53 rather than 1e16, so
    /// the digits are taken from it and laid out again by the documented rule.
    public static func formatDouble(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        let sign = value.sign == .minus ? "-" : ""
        guard value != 0 else { return sign + "0.0" }
        let (digits, exponent) = shortestDigits(abs(value))
        if exponent >= -4 && exponent < 16 {
            return sign + positional(digits, exponent)
        }
        var text = String(digits[0])
        if digits.count > 1 { text += "." + String(digits.dropFirst()) }
        let magnitude = abs(exponent)
        text += (exponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + String(magnitude)
        return sign + text
    }

    /// Significant digits (no leading or trailing zeros) and the decimal exponent of the first
    /// digit, for a finite positive value: 123.4 gives ("1234", 2).
    static func shortestDigits(_ value: Double) -> (digits: [Character], exponent: Int) {
        let text = value.description
        let parts = text.split(separator: "e", maxSplits: 1)
        let mantissa = parts.first.map(String.init) ?? text
        let powerOfTen = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let halves = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integerPart = halves.first.map(String.init) ?? ""
        let fractionPart = halves.count > 1 ? String(halves[1]) : ""
        var digits = Array(integerPart + fractionPart)
        var pointPosition = integerPart.count
        while digits.count > 1, digits.first == "0" {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        return (digits, pointPosition - 1 + powerOfTen)
    }

    static func positional(_ digits: [Character], _ exponent: Int) -> String {
        if exponent < 0 {
            return "0." + String(repeating: "0", count: -exponent - 1) + String(digits)
        }
        let integerCount = exponent + 1
        if digits.count <= integerCount {
            return String(digits) + String(repeating: "0", count: integerCount - digits.count) + ".0"
        }
        return String(digits[..<integerCount]) + "." + String(digits[integerCount...])
    }
}
