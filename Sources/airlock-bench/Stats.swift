/// One measured series, in milliseconds.
struct Series: Sendable, Codable {
    var name: String
    var samples: [Double]

    init(name: String, samples: [Double]) {
        self.name = name
        self.samples = samples.sorted()
    }

    var count: Int { samples.count }
    var median: Double { percentile(50) }
    var p99: Double { percentile(99) }
    var min: Double { samples.first ?? 0 }
    var max: Double { samples.last ?? 0 }
    var mean: Double { samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count) }
    /// Tail spread: p99 over the median.
    var tailRatio: Double { ratio(p99, median) }

    /// Nearest-rank percentile of the sorted samples.
    func percentile(_ p: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let rank = Int((p / 100 * Double(samples.count)).rounded(.up))
        return samples[Swift.min(samples.count, Swift.max(1, rank)) - 1]
    }
}

func ratio(_ numerator: Double, _ denominator: Double) -> Double {
    denominator > 0 ? numerator / denominator : 0
}

extension Duration {
    var milliseconds: Double {
        let parts = components
        return Double(parts.seconds) * 1000 + Double(parts.attoseconds) / 1e15
    }
}

