import Dispatch
import Metrics
import Prometheus

/// `/metrics` for any Airlock server (`airlock serve` now, `airlock worker` later): owns
/// the Prometheus registry swift-metrics reports into, and renders it in the Prometheus
/// text format after letting `refresh` bring the numbers up to date.
public final class MetricsEndpoint: Sendable {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    public let registry: PrometheusCollectorRegistry
    private let refresh: @Sendable () async throws -> Void

    /// Bootstraps the process's metrics system with this registry: call once per process,
    /// before anything creates a metric (swift-metrics allows one bootstrap).
    public static func bootstrap(refresh: @escaping @Sendable () async throws -> Void = {}) -> MetricsEndpoint {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Sandbox starts are tens of milliseconds; tool calls and appends span ms to minutes.
        factory.durationHistogramBuckets["airlock_sandbox_start_seconds"] =
            [5, 10, 25, 50, 100, 250, 500, 1000, 2500].map { .milliseconds($0) }
        factory.durationHistogramBuckets["airlock_ledger_append_seconds"] =
            [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100].map { .microseconds(Int($0 * 1000)) }
        factory.durationHistogramBuckets["airlock_tool_call_duration_seconds"] =
            [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300].map { .milliseconds(Int($0 * 1000)) }
        MetricsSystem.bootstrap(factory)
        return MetricsEndpoint(registry: registry, refresh: refresh)
    }

    init(registry: PrometheusCollectorRegistry, refresh: @escaping @Sendable () async throws -> Void) {
        self.registry = registry
        self.refresh = refresh
    }

    /// The exposition, after a refresh. A refresh that fails still serves what is known and
    /// counts the failure, so a scrape never blanks a dashboard.
    public func render() async -> [UInt8] {
        do { try await refresh() }
        catch { Counter(label: "airlock_metrics_refresh_failures_total").increment() }
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return bytes
    }
}
