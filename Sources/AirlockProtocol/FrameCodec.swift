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
