import AirlockModels
import Foundation

/// USD per million tokens, per model (`provider:name`), for `--max-cost`. Prices change;
/// the built-in table is a convenience and a JSON file can override or extend it:
/// `{"prices": {"openai:gpt-4o": {"input_per_mtok": 2.5, "output_per_mtok": 10}}}`.
public struct PriceTable: Sendable, Hashable {
    public struct Price: Sendable, Hashable, Codable {
        public var inputPerMTok: Double
        public var outputPerMTok: Double

        public init(inputPerMTok: Double, outputPerMTok: Double) {
            self.inputPerMTok = inputPerMTok
            self.outputPerMTok = outputPerMTok
        }

        enum CodingKeys: String, CodingKey {
            case inputPerMTok = "input_per_mtok"
            case outputPerMTok = "output_per_mtok"
        }
    }

    public var prices: [String: Price]

    public init(prices: [String: Price] = [:]) {
        self.prices = prices
    }

    /// The built-in table with `other`'s entries taking precedence.
    public func merging(_ other: PriceTable) -> PriceTable {
        PriceTable(prices: prices.merging(other.prices) { _, new in new })
    }

    /// The built-in table overridden by the prices in a JSON file.
    public static func loading(overridesFrom url: URL, base: PriceTable = .builtin) throws -> PriceTable {
        base.merging(try decode(Data(contentsOf: url)))
    }

    public static func decode(_ data: Data) throws -> PriceTable {
        struct File: Decodable { var prices: [String: Price] }
        return PriceTable(prices: try JSONDecoder().decode(File.self, from: data).prices)
    }

    /// The price of a model: exact name first, then without a date suffix
    /// (`claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`, `gpt-4o-2024-08-06` → `gpt-4o`).
    /// Scripted models are free.
    public func price(for model: ModelSpec) -> Price? {
        if model.provider == .script { return Price(inputPerMTok: 0, outputPerMTok: 0) }
        if let price = prices[model.description] { return price }
        guard let undated = Self.removingDateSuffix(model.name) else { return nil }
        return prices[ModelSpec(provider: model.provider, name: undated).description]
    }

    /// USD for `usage`, or nil when the model's price is unknown.
    public func cost(for model: ModelSpec, usage: Usage) -> Double? {
        guard let price = price(for: model) else { return nil }
        return (Double(usage.inputTokens) * price.inputPerMTok
            + Double(usage.outputTokens) * price.outputPerMTok) / 1_000_000
    }

    /// What to tell the user when `--max-cost` is set and `model` has no price: a cost
    /// limit that cannot be computed would silently never stop the run.
    public static func missingPriceMessage(for model: ModelSpec, priceFile: String) -> String {
        """
        --max-cost is set, but Airlock knows no price for \(model). Add one to \(priceFile):
          {"prices": {"\(model)": {"input_per_mtok": 2.5, "output_per_mtok": 10}}}
        (USD per million input and output tokens, from the provider's price list), or use \
        --max-tokens instead of --max-cost.
        """
    }

    static func removingDateSuffix(_ name: String) -> String? {
        for pattern in [#"-\d{8}$"#, #"-\d{4}-\d{2}-\d{2}$"#] {
            if let range = name.range(of: pattern, options: .regularExpression) {
                return String(name[..<range.lowerBound])
            }
        }
        return nil
    }
}
