import Foundation

/// Project files the user has trusted, remembered by path and content hash: editing a
/// trusted file (or swapping it) makes it untrusted again.
public struct ConfigTrust: Sendable {
    public var file: URL

    public init(file: URL) { self.file = file }

    /// `$XDG_CONFIG_HOME/airlock/trusted.json` (else `~/.config/airlock/trusted.json`).
    public static func standard(environment: [String: String]) -> ConfigTrust {
        ConfigTrust(file: ConfigLayers.userDirectory(environment: environment).appendingPathComponent("trusted.json"))
    }

    struct Record: Codable, Hashable {
        var path: String
        var sha256: String
    }

    func records() -> [Record] {
        guard let data = try? Data(contentsOf: file) else { return [] }
        return (try? JSONDecoder().decode([Record].self, from: data)) ?? []
    }

    public func isTrusted(_ config: ConfigFile) -> Bool {
        records().contains(Record(path: Self.canonical(config.path), sha256: config.sha256))
    }

    /// Trusts this content of the file (an older trust of the same path is replaced).
    public func trust(_ config: ConfigFile) throws {
        let path = Self.canonical(config.path)
        var records = records().filter { $0.path != path }
        records.append(Record(path: path, sha256: config.sha256))
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(records).write(to: file, options: .atomic)
    }

    static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }
}
