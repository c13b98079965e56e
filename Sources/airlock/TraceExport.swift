import AirlockCore
import AirlockOTLP
import Foundation
import Logging

/// The OTLP settings of this process (OTEL_* variables) and the live exporter of a run.
enum TraceExport {
    /// nil when export is off; a setting it cannot honour is a usage error (exit 2).
    static func configuration(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> OTLPConfiguration? {
        do { return try OTLPConfiguration(environment: environment) }
        catch { throw CLIError("\(error)", code: 2) }
    }

    /// A live exporter following the run's ledger in the store (SQLite or PostgreSQL); it
    /// reads on its own task, so the loop never waits for the collector.
    static func live(_ configuration: OTLPConfiguration?, store: any RunStore, content: Bool, logger: Logger)
        -> LiveTraceExporter? {
        guard let configuration else { return nil }
        return LiveTraceExporter(configuration: configuration, store: store, logger: logger, includeContent: content)
    }

    /// After the run: the last spans get a bounded time (the request timeout, at most 5 s),
    /// so a slow collector delays the exit by that much at worst.
    static func finish(_ exporter: LiveTraceExporter?, run: String, configuration: OTLPConfiguration?,
                       logger: Logger) async {
        guard let exporter, let configuration else { return }
        await exporter.follow(run: run)
        let stats = await exporter.finish(grace: min(configuration.timeout, .seconds(5)))
        logger.debug("spans exported", metadata: ["run": "\(run)", "sent": "\(stats.sent)", "dropped": "\(stats.dropped)",
                                                  "attempts": "\(stats.attempts)"])
    }
}
