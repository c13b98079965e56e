/// Caps on what one import may consume. Each is checked while streaming, so a bomb stops
/// at the cap, not when the disk is full; each error names the limit and how to raise it
/// (`airlock image import --limit NAME=VALUE`).
public struct ImageLimits: Sendable, Hashable {
    public enum Name: String, Sendable, CaseIterable {
        case layerCompressed = "layer-compressed"
        case layerUncompressed = "layer-uncompressed"
        case imageUncompressed = "image-uncompressed"
        case layerEntries = "layer-entries"
        case imageEntries = "image-entries"
        case layers
        case pathBytes = "path"
        case headerBytes = "header"
        case documentBytes = "document"
    }

    public var values: [Name: Int] = [
        .layerCompressed: 8 << 30,
        .layerUncompressed: 16 << 30,
        .imageUncompressed: 32 << 30,
        .layerEntries: 1_000_000,
        .imageEntries: 2_000_000,
        .layers: 256,
        .pathBytes: 4096,
        .headerBytes: 1 << 20,
        .documentBytes: 4 << 20,
    ]

    public init() {}

    public subscript(name: Name) -> Int {
        get { values[name] ?? 0 }
        set { values[name] = newValue }
    }

    /// The error for crossing `name`, naming where it was crossed.
    func exceeded(_ name: Name, _ context: String) -> ImageError {
        let value = self[name]
        return ImageError(.limit, "\(context) exceeds the \(name.rawValue) limit (\(Self.format(value, name)))",
                          fix: "raise it with --limit \(name.rawValue)=N if the image is trusted")
    }

    static func format(_ value: Int, _ name: Name) -> String {
        switch name {
        case .layerEntries, .imageEntries, .layers: return String(value)
        default: return value >= 1 << 20 && value % (1 << 20) == 0 ? "\(value >> 20)M" : "\(value) bytes"
        }
    }
}
