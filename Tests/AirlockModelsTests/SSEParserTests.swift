import Testing

@testable import AirlockModels

@Suite struct SSEParserTests {
    static func parse(_ chunks: [String]) -> [SSEEvent] {
        var parser = SSEParser()
        var events = chunks.flatMap { parser.feed(Array($0.utf8)) }
        events += parser.finish()
        return events
    }

    @Test func eventsWithNamesAndDefaults() {
        let events = Self.parse(["event: ping\ndata: {}\n\ndata: hello\n\n"])
        #expect(events == [SSEEvent(event: "ping", data: "{}"), SSEEvent(data: "hello")])
    }

    @Test func crlfAndBareCRLineEndings() {
        #expect(Self.parse(["event: a\r\ndata: 1\r\n\r\n"]) == [SSEEvent(event: "a", data: "1")])
        #expect(Self.parse(["data: 2\r\r"]) == [SSEEvent(data: "2")])
        // A CRLF pair split across chunks is one line ending, not two.
        #expect(Self.parse(["data: 3\r", "\ndata: 4\r", "\n\r", "\n"]) == [SSEEvent(data: "3\n4")])
    }

    @Test func multiLineDataCommentsAndUnknownFields() {
        let events = Self.parse([": keep-alive\n\ndata: line one\ndata:line two\nretry: 10\nfoo\n\n"])
        #expect(events == [SSEEvent(data: "line one\nline two")])
    }

    @Test func onlyOneLeadingSpaceIsStripped() {
        #expect(Self.parse(["data:  two spaces\n\n"]) == [SSEEvent(data: " two spaces")])
    }

    @Test func splitAnywhereIncludingInsideUTF8() {
        let text = "event: content_block_delta\ndata: {\"text\":\"日本 ✓\"}\n\ndata: [DONE]\n\n"
        let bytes = Array(text.utf8)
        let whole = Self.parse([text])
        for size in 1...9 {
            var parser = SSEParser()
            var events: [SSEEvent] = []
            for start in stride(from: 0, to: bytes.count, by: size) {
                events += parser.feed(bytes[start..<min(start + size, bytes.count)])
            }
            events += parser.finish()
            #expect(events == whole, "chunk size \(size)")
        }
        #expect(whole.first?.data == "{\"text\":\"日本 ✓\"}")
        #expect(whole.last?.data == "[DONE]")
    }

    @Test func emptyDataDispatchesNothing() {
        #expect(Self.parse(["event: x\n\n\n\n"]).isEmpty)
    }

    @Test func finishDeliversCompleteLinesButDropsAHalfLine() {
        #expect(Self.parse(["data: [DONE]\n"]) == [SSEEvent(data: "[DONE]")])
        #expect(Self.parse(["data: [DO"]).isEmpty)
    }

    @Test func idIsCarried() {
        #expect(Self.parse(["id: 7\ndata: x\n\n"]) == [SSEEvent(data: "x", id: "7")])
    }
}
