import AirlockCore
import AirlockOTLP
import AirlockModels
import ArgumentParser
import Foundation

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute a run's hash chain and name the first entry that was changed.",
        discussion: """
        Exit 0 when the ledger is intact; 1 and the first bad seq when any entry was edited, \
        deleted, inserted or reordered, including edits made to the SQLite file directly. \
        `--file` checks a JSONL export on its own (see `airlock export`). The format is in docs/ledger.md.
        """)

    @Argument(help: "The run (id, unique prefix, or 'latest').")
    var run: String?

    @Flag(name: .long, help: "Verify every run.")
    var all = false

    @Option(name: .long, help: "Verify a JSONL export instead of the database.")
    var file: String?

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    @Option(name: .long, help: "Also check the Ed25519 signature of the chain head with this public key (from `airlock keygen`).")
    var publicKey: String?

    @OptionGroup var state: StateOptions

    func validate() throws {
        let chosen = [run != nil, all, file != nil].filter { $0 }.count
        if chosen != 1 { throw ValidationError("give exactly one of RUN, --all or --file") }
    }

    func run() async throws {
        try await Output.guarded {
            var reports: [(String, VerifyReport)] = []
            if let file {
                do { reports.append((file, try LedgerVerifier.verify(jsonlFile: URL(fileURLWithPath: file)))) }
                catch { throw CLIError("cannot read \(file): \(error)") }
            } else {
                let store = try await state.open()
                let ids = all ? try await store.runs().map(\.id) : [try await RunLookup.resolve(run ?? "", in: store).id]
                for id in ids {
                    var report = try await store.verifyLedger(run: id)
                    if let publicKey, report.ok {
                        let raw: Data
                        do { raw = try ChainSignature.loadPublicKey(publicKey) }
                        catch { throw CLIError("cannot read the public key \(publicKey): \(error)", code: 2) }
                        let check = ChainSignature.verify(try await store.ledgerEntries(run: id), publicKey: raw)
                        if !check.ok {
                            report.ok = false
                            report.reason = check.reason
                        }
                    }
                    reports.append((id, report))
                }
            }
            for (name, report) in reports {
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    var object = try JSONValue(parsing: String(decoding: try encoder.encode(report), as: UTF8.self)).objectMembers
                    object["run"] = .string(name)
                    Output.line(JSONValue.object(object).canonicalJSON)
                } else if report.ok {
                    Output.line("\(name): intact (\(report.count) entries)" + (publicKey != nil ? ", signature valid" : ""))
                } else {
                    let at = report.firstBadSeq.map { " at seq \($0)" } ?? ""
                    Output.line("\(name): FAILED\(at): \(report.reason ?? "")")
                }
            }
            if reports.contains(where: { !$0.1.ok }) { throw ExitCode(1) }
        }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a run's ledger as JSONL (one entry a line) that `airlock verify --file` checks on its own.",
        discussion: """
        With --otlp, send the run's spans (derived from its ledger) to the OTLP endpoint of the \
        OTEL_EXPORTER_OTLP_* variables instead, all of them again, whatever was sent live \
        (collectors keep one span per span id). See docs/observability.md.
        """)

    @Argument(help: "The run (id, unique prefix, or 'latest').")
    var run: String

    @Option(name: [.short, .long], help: "Output file (default: stdout).")
    var output: String?

    @Flag(name: .long, help: "Send the run's spans over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT or _TRACES_ENDPOINT) instead of writing JSONL.")
    var otlp = false

    @Flag(name: .long, help: "With --otlp: put message content in the spans.")
    var otelContent = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = try await state.open()
            let record = try await RunLookup.resolve(run, in: store)
            if otlp {
                if output != nil { throw CLIError("--otlp sends the spans; it takes no --output", code: 2) }
                guard let configuration = try TraceExport.configuration() else {
                    throw CLIError("--otlp needs OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (and OTEL_SDK_DISABLED unset)", code: 2)
                }
                let spans = LedgerSpans.build(try await store.ledgerEntries(run: record.id), includeContent: otelContent)
                do { try await OTLPSender(configuration: configuration).deliver(spans) }
                catch { throw CLIError("cannot export the spans of \(record.id): \(error)") }
                Output.line("sent \(spans.count) spans of \(record.id) to \(configuration.endpoint) (\(configuration.wireProtocol.rawValue))")
                return
            }
            if otelContent { throw CLIError("--otel-content goes with --otlp", code: 2) }
            if let output {
                try await store.exportLedger(run: record.id, to: URL(fileURLWithPath: output))
            } else {
                FileHandle.standardOutput.write(Data(try await store.exportLedgerJSONL(run: record.id).utf8))
            }
        }
    }
}

struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make an Ed25519 key pair for signing ledgers: PREFIX.key (keep it with the harness) and PREFIX.pub.")

    @Option(name: [.short, .long], help: "Path prefix of the two files.")
    var out: String = "airlock-ledger"

    func run() async throws {
        try await Output.guarded {
            do { try ChainSignature.generate(prefix: out) }
            catch { throw CLIError("cannot write \(out).key: \(error)") }
            Output.line("wrote \(out).key (private, mode 0600) and \(out).pub")
        }
    }
}
