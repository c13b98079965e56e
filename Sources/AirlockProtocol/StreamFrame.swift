#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One frame of a byte stream carried over the guest's channel beside the request frames:
/// a TCP connection accepted inside the sandbox (the egress relay) and its twin on the
/// harness's side. The guest opens streams; data, credit, close and reset go both ways.
///
/// Flow control is a per-stream window in each direction: a side may have at most
/// `window` bytes of one stream sent and not yet credited back. The receiver credits bytes
/// once it has written them to its socket, so neither side buffers more than `window`
/// bytes of a stream however slow the other end is.
public struct StreamFrame: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A new connection inside (guest → harness only).
        case open = "stream_open"
        case data = "stream_data"
        /// The receiver wrote `bytes` more to its socket: the sender may send that much more.
        case credit = "stream_credit"
        /// The sender will send no more data (a half-close); the other direction goes on.
        case close = "stream_close"
        /// The stream is over both ways, now (a refused connect, an error, a broken rule).
        case reset = "stream_reset"
    }

    /// The largest `data` of one frame (before base64).
    public static let maxChunk = 64 * 1024
    /// Bytes of one stream a side may have in flight before credit comes back.
    public static let window = 256 * 1024
    /// Streams open at once; one more is refused (the proxy's own cap is 256 connections).
    public static let maxStreams = 128

    public var kind: Kind
    /// The stream's number, chosen by the guest; never 0.
    public var stream: UInt64
    public var data: Data?
    public var bytes: Int?
    public var reason: String?

    public init(_ kind: Kind, stream: UInt64, data: Data? = nil, bytes: Int? = nil, reason: String? = nil) {
        self.kind = kind
        self.stream = stream
        self.data = data
        self.bytes = bytes
        self.reason = reason
    }

    public static func open(_ stream: UInt64) -> StreamFrame { StreamFrame(.open, stream: stream) }
    public static func data(_ stream: UInt64, _ data: Data) -> StreamFrame { StreamFrame(.data, stream: stream, data: data) }
    public static func credit(_ stream: UInt64, _ bytes: Int) -> StreamFrame { StreamFrame(.credit, stream: stream, bytes: bytes) }
    public static func close(_ stream: UInt64) -> StreamFrame { StreamFrame(.close, stream: stream) }
    public static func reset(_ stream: UInt64, _ reason: String) -> StreamFrame { StreamFrame(.reset, stream: stream, reason: reason) }
}

extension StreamFrame {
    enum CodingKeys: String, CodingKey { case stream, data, bytes, reason }

    /// Decodes the body of a frame whose `type` named `kind`, refusing shapes no honest peer
    /// sends (a zero stream, empty or oversized data, credit outside the window).
    init(kind: Kind, from decoder: Decoder) throws {
        let keys = try decoder.container(keyedBy: CodingKeys.self)
        self.kind = kind
        stream = try keys.decode(UInt64.self, forKey: .stream)
        guard stream != 0 else {
            throw DecodingError.dataCorruptedError(forKey: .stream, in: keys, debugDescription: "stream 0 does not exist")
        }
        data = try keys.decodeIfPresent(Data.self, forKey: .data)
        bytes = try keys.decodeIfPresent(Int.self, forKey: .bytes)
        reason = try keys.decodeIfPresent(String.self, forKey: .reason)
        switch kind {
        case .data:
            guard let data, !data.isEmpty, data.count <= Self.maxChunk else {
                throw DecodingError.dataCorruptedError(forKey: .data, in: keys,
                                                       debugDescription: "stream_data needs 1 to \(Self.maxChunk) bytes of data")
            }
        case .credit:
            guard let bytes, (1...Self.window).contains(bytes) else {
                throw DecodingError.dataCorruptedError(forKey: .bytes, in: keys,
                                                       debugDescription: "stream_credit needs 1 to \(Self.window) bytes")
            }
        case .open, .close, .reset:
            break
        }
    }

    func encodeBody(to encoder: Encoder) throws {
        var keys = encoder.container(keyedBy: CodingKeys.self)
        try keys.encode(stream, forKey: .stream)
        try keys.encodeIfPresent(data, forKey: .data)
        try keys.encodeIfPresent(bytes, forKey: .bytes)
        try keys.encodeIfPresent(reason, forKey: .reason)
    }
}
