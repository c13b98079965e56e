import AirlockProtocol
import Foundation
import Testing

/// Egress stream frames on the wire: both directions' envelopes, the hand-written encoder
/// against the decoder, and shapes no honest peer sends.
@Suite("Stream frames")
struct StreamFrameTests {
    let codec = FrameCodec()

    static let samples: [StreamFrame] = [
        .open(7), .data(7, Data([0, 1, 2, 255, 10, 13])), .credit(7, 4096), .close(7),
        .reset(7, "the connection failed: \"quoted\"\nnewline"),
        .data(UInt64.max, Data(repeating: 0x5a, count: StreamFrame.maxChunk)),
    ]

    @Test("every kind round-trips as a request and as a response, through the fast encoder too")
    func roundTrips() throws {
        for frame in Self.samples {
            let fast = codec.encode(stream: frame)
            #expect(fast.last == UInt8(ascii: "\n"))
            #expect(fast.dropLast().firstIndex(of: UInt8(ascii: "\n")) == nil, "one frame, one line")
            let asResponse = try codec.decode(ResponseFrame.self, from: fast.dropLast()).get()
            #expect(asResponse.id == 0)
            #expect(asResponse.response == .stream(frame))
            let asRequest = try codec.decode(RequestFrame.self, from: fast.dropLast()).get()
            #expect(asRequest.request == .stream(frame))
            // The generic encoder writes the same frame.
            let generic = try codec.encode(RequestFrame(id: 0, request: .stream(frame)))
            #expect(try codec.decode(RequestFrame.self, from: generic.dropLast()).get() == asRequest)
            #expect(asResponse.response.type == frame.kind.rawValue)
            #expect(!asResponse.response.isFinal)
        }
    }

    @Test("malformed stream frames are refused with a reason, never decoded")
    func garbageRefused() {
        let big = Data(repeating: 1, count: StreamFrame.maxChunk + 1).base64EncodedString()
        let cases: [(String, String)] = [
            (#"{"id":0,"type":"stream_data","stream":0,"data":"AAE="}"#, "stream 0"),
            (#"{"id":0,"type":"stream_data","stream":3}"#, "data"),
            (#"{"id":0,"type":"stream_data","stream":3,"data":""}"#, "data"),
            (#"{"id":0,"type":"stream_data","stream":3,"data":"\#(big)"}"#, "data"),
            (#"{"id":0,"type":"stream_data","stream":3,"data":"%%%not base64"}"#, "Base64"),
            (#"{"id":0,"type":"stream_credit","stream":3,"bytes":0}"#, "credit"),
            (#"{"id":0,"type":"stream_credit","stream":3,"bytes":\#(StreamFrame.window + 1)}"#, "credit"),
            (#"{"id":0,"type":"stream_credit","stream":3}"#, "credit"),
            (#"{"id":0,"type":"stream_close"}"#, "stream"),
            (#"{"id":0,"type":"stream_close","stream":-1}"#, "JSON"),
            (#"{"id":0,"type":"stream_bogus","stream":1}"#, "unknown"),
        ]
        for (line, hint) in cases {
            for result in [codec.decode(ResponseFrame.self, from: Array(line.utf8)).map { _ in () },
                           codec.decode(RequestFrame.self, from: Array(line.utf8)).map { _ in () }] {
                guard case .failure(let failure) = result else {
                    Issue.record("decoded: \(line)")
                    continue
                }
                #expect(["malformed_frame", "unknown_type"].contains(failure.error.code))
                #expect(failure.error.message.contains(hint), "\(line): \(failure.error.message)")
            }
        }
    }

    @Test("a stream_data line of the largest chunk fits the protocol's frame cap, with room to spare")
    func chunkFitsFrame() {
        let line = codec.encode(stream: .data(UInt64.max, Data(repeating: 0xff, count: StreamFrame.maxChunk)))
        #expect(line.count < ProtocolVersion.maxFrameBytes / 32)
        #expect(StreamFrame.maxChunk <= StreamFrame.window)
    }

    @Test("the direct stream_data parser reads exactly the encoder's lines and leaves everything else to the decoder")
    func directParser() throws {
        for size in [1, 2, 3, 1000, StreamFrame.maxChunk] {
            let frame = StreamFrame.data(UInt64(size) * 7919, Data((0..<size).map { UInt8(truncatingIfNeeded: $0 * 13) }))
            let line = Array(codec.encode(stream: frame).dropLast())
            #expect(codec.decodeStreamData(line) == frame)
        }
        let big = Data(repeating: 1, count: StreamFrame.maxChunk + 1).base64EncodedString()
        let others = [
            #"{"id":0,"type":"stream_data","stream":0,"data":"AAE="}"#,
            #"{"id":0,"type":"stream_data","stream":3,"data":""}"#,
            #"{"id":0,"type":"stream_data","stream":3,"data":"\#(big)"}"#,
            #"{"id":0,"type":"stream_data","stream":3,"data":"AA\u0045="}"#,
            #"{"id":0,"type":"stream_data","stream":3,"data":"%%%%"}"#,
            #"{"id":0,"type":"stream_data","stream":99999999999999999999,"data":"AAE="}"#,
            #"{"id":0,"type":"stream_data", "stream":3,"data":"AAE="}"#,
            #"{"id":0,"type":"stream_credit","stream":3,"bytes":10}"#,
            #"{"id":0,"type":"stream_data","stream":3,"data":"AAE=","x":1}"#,
        ]
        for line in others {
            #expect(codec.decodeStreamData(Array(line.utf8)) == nil, "\(line)")
        }
        // Spacing the parser does not take still decodes the ordinary way, to the same frame.
        let spaced = #"{"id":0,"type":"stream_data", "stream":3,"data":"AAE="}"#
        #expect(try codec.decode(RequestFrame.self, from: Array(spaced.utf8)).get().request == .stream(.data(3, Data([0, 1]))))
    }
}
