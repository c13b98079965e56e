/// An image a tool returned (an MCP `image` content block), passed to a provider that
/// takes images in tool results; others see only the text summary.
public struct ToolImage: Sendable, Hashable, Codable {
    /// `image/png`, `image/jpeg`, `image/gif` or `image/webp`: what both providers accept.
    public var mediaType: String
    /// Base64, as the server sent it.
    public var data: String

    public init(mediaType: String, data: String) {
        self.mediaType = mediaType
        self.data = data
    }

    public static let mediaTypes: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp"]
    /// Decoded size a provider is sent at most per image (Anthropic's limit is 5 MB).
    public static let maxBytes = 5 * 1024 * 1024
    /// Images sent per tool result at most.
    public static let maxPerResult = 4

    /// The decoded size, from the base64 length.
    public var byteCount: Int { data.utf8.count / 4 * 3 - data.suffix(2).filter { $0 == "=" }.count }
}
