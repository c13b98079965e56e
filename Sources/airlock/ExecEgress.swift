import AirlockCore
import AirlockEgress
import AirlockExec
import AirlockSandbox
import Foundation
import Synchronization

/// `airlock exec --network proxy`: the egress proxy as `ExecRunner`'s network, one line
/// per proxied request on stderr (JSON with --json, else a short summary).
final class ExecEgress: ExecNetwork {
    let settings: EgressSettings
    let secretValues: [String: String]
    let maxBytes: Int?
    private let gate = Mutex<EgressGate?>(nil)

    init(settings: EgressSettings, secretValues: [String: String], maxBytes: Int?) {
        self.settings = settings
        self.secretValues = secretValues
        self.maxBytes = maxBytes
    }

    func open(_ configuration: inout SandboxConfiguration) async throws {
        let opened = try await EgressGate.open(settings, secretValues: secretValues, maxBytes: maxBytes)
        configuration.network = .proxy
        configuration.egress = opened.attachment
        for secret in settings.secrets { configuration.environment[secret.name] = secret.placeholder }
        gate.withLock { $0 = opened }
    }

    func takeLines(json: Bool) -> [String] {
        (gate.withLock { $0 }?.takeRecords() ?? []).compactMap { line($0, json: json) }
    }

    func close() async {
        await gate.withLock { $0 }?.close()
    }

    private func line(_ record: EgressRecord, json: Bool) -> String? {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            return (try? encoder.encode(EgressLine(record))).map { String(decoding: $0, as: UTF8.self) }
        }
        // A path is origin-form; a tunnel's inner CONNECT shows its own target.
        let inner = record.path.map { $0.hasPrefix("/") ? $0 : " → " + $0 } ?? ""
        let target = "\(record.host):\(record.port)\(inner)"
        let verdict = record.allowed ? "allowed" : "refused (\(record.reason ?? "not allowed"))"
        return "airlock: egress \(record.method) \(target) \(verdict), \(record.bytesUp) B up, \(record.bytesDown) B down"
    }
}

/// An egress record as `airlock exec --json` prints it.
private struct EgressLine: Encodable {
    var type = "egress"
    var record: EgressRecord
    init(_ record: EgressRecord) { self.record = record }
}
