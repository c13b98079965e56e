import AirlockImages
import Foundation

/// One line on the terminal, rewritten in place: layer N/M and bytes.
enum ImportProgress {
    static func printer(_ label: String) -> @Sendable (ImageImporter.Progress) -> Void {
        { progress in
            let line = "\rimporting \(label): layer \(progress.layer)/\(progress.layers), "
                + "\(ByteCount.text(progress.bytes)) of \(ByteCount.text(progress.totalBytes))"
            let end = progress.bytes >= progress.totalBytes && progress.layer == progress.layers ? "\n" : ""
            FileHandle.standardError.write(Data((line + "\u{1B}[K" + end).utf8))
        }
    }
}

enum ByteCount {
    static func text(_ bytes: Int) -> String {
        let units = ["B", "K", "M", "G", "T"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes)B" : String(format: "%.1f%@", value, units[unit])
    }
}
