import AirlockModels

/// One OpenTelemetry span, as plain data (GenAI semantic conventions for the names and
/// attributes; see LedgerSpans).
public struct TraceSpan: Sendable, Hashable {
    public enum Kind: Int, Sendable { case `internal` = 1, server = 2, client = 3 }
    public var traceID: String      // 32 hex digits
    public var spanID: String       // 16 hex digits
    public var parentSpanID: String?
    public var name: String
    public var kind: Kind
    public var startNanos: UInt64
    public var endNanos: UInt64
    public var attributes: [String: JSONValue]
    public var isError: Bool

    public init(traceID: String, spanID: String, parentSpanID: String?, name: String, kind: Kind,
                startNanos: UInt64, endNanos: UInt64, attributes: [String: JSONValue], isError: Bool = false) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.startNanos = startNanos
        self.endNanos = max(startNanos, endNanos)
        self.attributes = attributes
        self.isError = isError
    }
}
