/// One server-sent event.
public struct SSEEvent: Sendable, Hashable {
    /// The `event:` field; `message` when the server sent none.
    public var event: String
    /// The `data:` lines joined with `\n`.
    public var data: String
    public var id: String?

    public init(event: String = "message", data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// Incremental `text/event-stream` parser. Works on bytes so a chunk boundary inside a
/// multibyte character or a `\r\n` pair is harmless; lines are decoded only when complete.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var afterCR = false
    private var eventName: String?
    private var dataLines: [String] = []
    private var lastID: String?

    public init() {}

    /// Feeds the next chunk and returns the events it completed.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEEvent] {
        var events: [SSEEvent] = []
        for byte in bytes {
            if afterCR {
                afterCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\n"):
                endLine(into: &events)
            case UInt8(ascii: "\r"):
                afterCR = true
                endLine(into: &events)
            default:
                line.append(byte)
            }
        }
        return events
    }

    /// Ends the stream. An event whose last line was complete is delivered even without
    /// the closing blank line; a half-received line is dropped, as the spec says.
    public mutating func finish() -> [SSEEvent] {
        var events: [SSEEvent] = []
        if line.isEmpty, let event = takeEvent() {
            events.append(event)
        }
        line.removeAll()
        eventName = nil
        dataLines.removeAll()
        return events
    }

    private mutating func endLine(into events: inout [SSEEvent]) {
        let text = String(decoding: line, as: UTF8.self)
        line.removeAll(keepingCapacity: true)
        if text.isEmpty {
            if let event = takeEvent() { events.append(event) }
            return
        }
        if text.hasPrefix(":") { return }  // a comment, often a keep-alive
        let field: Substring
        var value: Substring
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "data": dataLines.append(String(value))
        case "event": eventName = String(value)
        case "id": lastID = String(value)
        default: break  // `retry` and unknown fields do not matter here
        }
    }

    private mutating func takeEvent() -> SSEEvent? {
        defer {
            eventName = nil
            dataLines.removeAll()
        }
        guard !dataLines.isEmpty else { return nil }
        let name = eventName.flatMap { $0.isEmpty ? nil : $0 } ?? "message"
        return SSEEvent(event: name, data: dataLines.joined(separator: "\n"), id: lastID)
    }
}
