#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Encodes frames to single lines and decodes lines back, never trapping on bad input.
public struct FrameCodec: Sendable {
    public init() {}

    public func encode(_ frame: some Encodable) throws -> [UInt8] {
        var bytes = Array(try JSONEncoder().encode(frame))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// Decodes one line. A failure is an `ErrorFrame` to send back, not a crash.
    public func decode<Frame: Decodable>(_ type: Frame.Type, from line: some Collection<UInt8>)
        -> Result<Frame, FrameDecodingFailure>
    {
        let data = Data(line)
        do {
            return .success(try JSONDecoder().decode(Frame.self, from: data))
        } catch {
            // Salvage the id when the frame is otherwise bad, so the peer can match the error.
            let id = (try? JSONDecoder().decode(IDOnly.self, from: data))?.id ?? 0
            let code = Self.isUnknownType(error) ? "unknown_type" : "malformed_frame"
            return .failure(FrameDecodingFailure(id: id, error: ErrorFrame(
                code: code, message: Self.describe(error))))
        }
    }

    private struct IDOnly: Decodable { var id: UInt64 }

    private static func isUnknownType(_ error: Error) -> Bool {
        if case DecodingError.dataCorrupted(let context) = error {
            return context.debugDescription.hasPrefix("unknown")
        }
        return false
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return context.debugDescription
        case DecodingError.keyNotFound(let key, _):
            return "missing field '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return "wrong type at '\(path)': \(context.debugDescription)"
        default:
            return "not a valid frame"
        }
    }
}

public struct FrameDecodingFailure: Error, Sendable, Hashable {
    public var id: UInt64
    public var error: ErrorFrame
}

extension FrameCodec {
    /// A stream frame as one line, written by hand: `stream_data` is the hot path of every
    /// egress byte, and the generic encoder costs several times more for the same line.
    /// Same shape whichever way it goes (`id` 0), and what `decode` reads back.
    public func encode(stream frame: StreamFrame) -> [UInt8] {
        if frame.reason != nil, let bytes = try? encode(ResponseFrame(id: 0, response: .stream(frame))) { return bytes }
        var line = #"{"id":0,"type":""# + frame.kind.rawValue + #"","stream":"# + String(frame.stream)
        if let bytes = frame.bytes { line += #","bytes":"# + String(bytes) }
        if let data = frame.data { line += #","data":""# + data.base64EncodedString() + "\"" }
        line += "}\n"
        return Array(line.utf8)
    }
}

extension FrameCodec {
    private static let dataPrefix = Array(#"{"id":0,"type":"stream_data","stream":"#.utf8)
    private static let dataMiddle = Array(#","data":""#.utf8)
    private static let dataEnd = Array(#""}"#.utf8)

    /// Reads a `stream_data` line in exactly the shape `encode(stream:)` writes, without the
    /// generic decoder (the hot path of every egress byte). Anything else — another frame,
    /// other spacing or key order, a bad value — is nil, and the caller decodes it the
    /// ordinary way, which applies the same rules and reports what is wrong.
    public func decodeStreamData(_ line: [UInt8]) -> StreamFrame? {
        line.withUnsafeBufferPointer { bytes -> StreamFrame? in
            let fixed = Self.dataPrefix.count + Self.dataMiddle.count + Self.dataEnd.count
            guard bytes.count > fixed, bytes.starts(with: Self.dataPrefix),
                  bytes[bytes.count - 2] == UInt8(ascii: "\""), bytes[bytes.count - 1] == UInt8(ascii: "}") else { return nil }
            var index = Self.dataPrefix.count
            var stream: UInt64 = 0
            let digitsStart = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9"), index - digitsStart < 19 {
                stream = stream * 10 + UInt64(bytes[index] - UInt8(ascii: "0"))
                index += 1
            }
            guard index > digitsStart, stream != 0,
                  UnsafeBufferPointer(rebasing: bytes[index...]).starts(with: Self.dataMiddle) else { return nil }
            index += Self.dataMiddle.count
            let payload = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[index..<(bytes.count - Self.dataEnd.count)])
            // Base64 of at most maxChunk bytes (base64 has no characters JSON escapes, so a
            // backslash or quote makes the decode fail and the line goes the ordinary way).
            guard payload.count <= (StreamFrame.maxChunk + 2) / 3 * 4,
                  let data = Data(base64Encoded: Data(payload)), !data.isEmpty, data.count <= StreamFrame.maxChunk else { return nil }
            return .data(stream, data)
        }
    }
}
