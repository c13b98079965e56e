/// Stored times are RFC 3339 (`2025-01-02T03:04:05.678Z`); pages show them shorter.
enum Timestamps {
    static func short(_ time: String) -> String {
        guard time.count >= 19 else { return time }
        let date = time.prefix(10), clock = time.dropFirst(11).prefix(8)
        return "\(date) \(clock)"
    }
}
