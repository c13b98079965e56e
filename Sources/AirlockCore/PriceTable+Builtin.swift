extension PriceTable {
    /// List prices in USD per million tokens (input, output) as published by the vendors in
    /// 2025. Check them against the vendor's page before relying on `--max-cost`.
    public static let builtin = PriceTable(prices: [
        "openai:gpt-4o": Price(inputPerMTok: 2.5, outputPerMTok: 10),
        "openai:gpt-4o-mini": Price(inputPerMTok: 0.15, outputPerMTok: 0.6),
        "openai:gpt-4.1": Price(inputPerMTok: 2, outputPerMTok: 8),
        "openai:gpt-4.1-mini": Price(inputPerMTok: 0.4, outputPerMTok: 1.6),
        "openai:gpt-4.1-nano": Price(inputPerMTok: 0.1, outputPerMTok: 0.4),
        "openai:gpt-5": Price(inputPerMTok: 1.25, outputPerMTok: 10),
        "openai:gpt-5-mini": Price(inputPerMTok: 0.25, outputPerMTok: 2),
        "openai:gpt-5-nano": Price(inputPerMTok: 0.05, outputPerMTok: 0.4),
        "openai:o3": Price(inputPerMTok: 2, outputPerMTok: 8),
        "openai:o4-mini": Price(inputPerMTok: 1.1, outputPerMTok: 4.4),
        "anthropic:claude-opus-4-5": Price(inputPerMTok: 5, outputPerMTok: 25),
        "anthropic:claude-opus-4-1": Price(inputPerMTok: 15, outputPerMTok: 75),
        "anthropic:claude-opus-4-0": Price(inputPerMTok: 15, outputPerMTok: 75),
        "anthropic:claude-opus-4": Price(inputPerMTok: 15, outputPerMTok: 75),
        "anthropic:claude-sonnet-4-5": Price(inputPerMTok: 3, outputPerMTok: 15),
        "anthropic:claude-sonnet-4-0": Price(inputPerMTok: 3, outputPerMTok: 15),
        "anthropic:claude-sonnet-4": Price(inputPerMTok: 3, outputPerMTok: 15),
        "anthropic:claude-3-7-sonnet-latest": Price(inputPerMTok: 3, outputPerMTok: 15),
        "anthropic:claude-haiku-4-5": Price(inputPerMTok: 1, outputPerMTok: 5),
        "anthropic:claude-3-5-haiku-latest": Price(inputPerMTok: 0.8, outputPerMTok: 4),
        "anthropic:claude-3-5-haiku": Price(inputPerMTok: 0.8, outputPerMTok: 4),
    ])
}
