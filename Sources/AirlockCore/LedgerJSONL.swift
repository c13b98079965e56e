import AirlockModels

/// The ledger export: one JSON object per line,
/// `{"run":…,"seq":…,"time":…,"kind":…,"payload":…,"prev_hash":…,"hash":…}`, payload in
/// canonical form. Self-contained: `LedgerVerifier.verify(jsonl:)` checks it without the database.
public enum LedgerJSONL {
    /// Why an export could not be read: 1-based line number and cause.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var message: String
        /// Entries read before the bad line.
        public var entriesBefore: Int
        public var description: String { "line \(line): \(message)" }
    }

    public static func encode(_ entries: [LedgerEntry]) -> String {
        var out = ""
        for entry in entries {
            out += line(entry)
            out += "\n"
        }
        return out
    }

    /// One line, fields in a fixed reading order (the line itself is not hashed).
    public static func line(_ entry: LedgerEntry) -> String {
        func quoted(_ text: String) -> String { JSONValue.string(text).canonicalJSON }
        return #"{"run":"# + quoted(entry.run) + #","seq":"# + String(entry.seq)
            + #","time":"# + quoted(entry.time) + #","kind":"# + quoted(entry.kind.rawValue)
            + #","payload":"# + entry.payloadJSON + #","prev_hash":"# + quoted(entry.prevHash)
            + #","hash":"# + quoted(entry.hash) + "}"
    }

    /// Parses an export. The payload is re-canonicalised from the parsed JSON, so a line that
    /// was edited (even just re-spaced inside its payload) hashes differently only if its
    /// content changed.
    public static func decode(_ text: String) -> Result<[LedgerEntry], Failure> {
        var entries: [LedgerEntry] = []
        for (offset, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineText = String(rawLine)
            guard !lineText.allSatisfy(\.isWhitespace) else { continue }
            switch entry(from: lineText) {
            case .success(let entry): entries.append(entry)
            case .failure(let message):
                return .failure(Failure(line: offset + 1, message: message.text, entriesBefore: entries.count))
            }
        }
        return .success(entries)
    }

    struct Message: Error { var text: String }

    static func entry(from lineText: String) -> Result<LedgerEntry, Message> {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: lineText)
        } catch {
            return .failure(Message(text: "not valid JSON (\(error))"))
        }
        guard case .object = value else { return .failure(Message(text: "not a JSON object")) }
        func text(_ key: String) -> String? { value[key]?.stringValue }
        guard let run = text("run") else { return .failure(Message(text: "missing string \"run\"")) }
        guard case .int(let seq)? = value["seq"] else { return .failure(Message(text: "missing integer \"seq\"")) }
        guard let time = text("time") else { return .failure(Message(text: "missing string \"time\"")) }
        guard let kind = text("kind") else { return .failure(Message(text: "missing string \"kind\"")) }
        guard let payload = value["payload"] else { return .failure(Message(text: "missing \"payload\"")) }
        guard let prevHash = text("prev_hash") else { return .failure(Message(text: "missing string \"prev_hash\"")) }
        guard let hash = text("hash") else { return .failure(Message(text: "missing string \"hash\"")) }
        return .success(LedgerEntry(run: run, seq: seq, time: time, kind: LedgerKind(rawValue: kind),
                                    payloadJSON: payload.canonicalJSON, prevHash: prevHash, hash: hash))
    }
}
