/// What each provider's stream accumulator does: take SSE events until the stream's end
/// marker, then give the assistant turn they add up to.
protocol StreamAccumulator {
    init(observer: ModelObserver?)
    /// Takes one SSE event; true once the stream's end marker arrived.
    mutating func consume(_ event: SSEEvent) throws -> Bool
    func turn() -> AssistantTurn
}

extension OpenAIStreamAccumulator: StreamAccumulator {}
extension AnthropicStreamAccumulator: StreamAccumulator {}
