import Foundation

/// Reads how long a server asked us to wait: `retry-after-ms` (OpenAI), `Retry-After` in
/// seconds or as an HTTP date. The policy caps the result.
public enum RetryAfter {
    public static func parse(_ headers: [(String, String)], now: Date = Date()) -> Duration? {
        func value(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name }?.1.trimmingCharacters(in: .whitespaces)
        }
        if let text = value("retry-after-ms"), let ms = Double(text), ms.isFinite, ms >= 0 {
            return .milliseconds(Int(min(ms, 86_400_000)))
        }
        guard let text = value("retry-after") else { return nil }
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 {
            return .milliseconds(Int(min(seconds, 86_400) * 1000))
        }
        guard let date = httpDate(text) else { return nil }
        let seconds = max(0, min(date.timeIntervalSince(now), 86_400))
        return .milliseconds(Int(seconds * 1000))
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
