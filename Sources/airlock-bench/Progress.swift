import Glibc

/// Progress and diagnostics on stderr, so stdout holds only the figures.
enum Progress {
    static func say(_ text: String) {
        let line = Array((text + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
