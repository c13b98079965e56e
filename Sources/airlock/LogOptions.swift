import AirlockCore
import ArgumentParser
import Foundation
import Logging
import Synchronization

/// `--log-format` and `--log-level`: the harness's own diagnostics (exporter warnings,
/// sandbox and model retries, the server's start) through swift-log, on stderr. They name
/// runs, tools, models and hosts, never a secret or a message's content.
struct LogOptions: ParsableArguments {
    enum Format: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Option(name: .long, help: "Diagnostics on stderr as text (default) or json (one object a line, for log collectors).")
    var logFormat: Format = .text

    @Option(name: .long, help: ArgumentHelp("Least severe diagnostic shown: trace, debug, info, notice, warning (default), error, critical.",
                                            valueName: "level"))
    var logLevel: String = "warning"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level \(logLevel) is not one of trace, debug, info, notice, warning, error, critical")
        }
    }

    /// Installs the handler for the whole process (once; later calls are ignored).
    func bootstrap() {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        let json = logFormat == .json
        LogBootstrap.once {
            LoggingSystem.bootstrap { label in
                var handler = StderrLogHandler(label: label, json: json)
                handler.logLevel = level
                return handler
            }
        }
    }

    func logger(_ label: String = "airlock") -> Logger {
        bootstrap()
        return Logger(label: label)
    }
}

/// swift-log allows one bootstrap per process; commands that share LogOptions call it freely.
enum LogBootstrap {
    private static let done = Mutex(false)

    static func once(_ body: () -> Void) {
        let first = done.withLock { value in
            defer { value = true }
            return !value
        }
        if first { body() }
    }
}
