/// Splits a byte stream into newline-terminated frames with a hard cap per frame.
///
/// A line longer than the cap is dropped whole (up to its newline) and reported once as
/// `.oversized`, so a hostile peer cannot make either side buffer without bound.
public struct LineReader: Sendable {
    public enum Item: Sendable, Hashable {
        case line([UInt8])
        case oversized(Int)
    }

    public let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var discarding = false
    private var discarded = 0

    public init(maxLineBytes: Int = ProtocolVersion.maxFrameBytes) {
        self.maxLineBytes = maxLineBytes
    }

    /// Feeds bytes; returns every complete item they finish.
    public mutating func feed(_ bytes: ArraySlice<UInt8>) -> [Item] {
        var items: [Item] = []
        var rest = bytes
        while !rest.isEmpty {
            let newline = rest.firstIndex(of: UInt8(ascii: "\n"))
            let piece = rest[..<(newline ?? rest.endIndex)]
            append(piece)
            guard let newline else { break }
            if discarding {
                items.append(.oversized(discarded))
            } else if !buffer.isEmpty {
                items.append(.line(buffer))
            }
            buffer.removeAll(keepingCapacity: buffer.count < 64 * 1024)
            discarding = false
            discarded = 0
            rest = rest[rest.index(after: newline)...]
        }
        return items
    }

    public mutating func feed(_ bytes: [UInt8]) -> [Item] { feed(bytes[...]) }

    private mutating func append(_ piece: ArraySlice<UInt8>) {
        if discarding {
            discarded += piece.count
        } else if buffer.count + piece.count > maxLineBytes {
            discarding = true
            discarded = buffer.count + piece.count
            buffer.removeAll()
        } else {
            buffer.append(contentsOf: piece)
        }
    }

    /// Bytes held for an unfinished line.
    public var pendingBytes: Int { buffer.count }
}
