import AirlockModels
import Crypto
import Foundation

/// An Ed25519 signature over a run's chain head, held by the harness. Appended as the last
/// ledger entry (`chain_signed`), it lets anyone with the public key check that the whole
/// chain up to the run's end is the one the harness wrote — even someone who could
/// recompute every hash.
public enum ChainSignature {
    public static let kind: LedgerKind = "chain_signed"

    /// The payload that signs `head` (normally the `run_finished` entry).
    public static func payload(signing head: LedgerEntry, withRawKey raw: Data) throws -> JSONValue {
        let key = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        let signature = try key.signature(for: Data(hexBytes(head.hash) ?? []))
        return .object([
            "signed_seq": .int(head.seq), "signed_hash": .string(head.hash), "algorithm": "ed25519",
            "public_key": .string(hex(key.publicKey.rawRepresentation)),
            "signature": .string(hex(signature)),
        ])
    }

    public struct Check: Sendable, Hashable {
        public var ok: Bool
        public var reason: String
    }

    /// Checks the last `chain_signed` entry against `publicKey`: the signature must be
    /// valid, made by that key, over the hash of the entry right before it.
    public static func verify(_ entries: [LedgerEntry], publicKey raw: Data) -> Check {
        guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
            return Check(ok: false, reason: "not an Ed25519 public key")
        }
        guard let index = entries.lastIndex(where: { $0.kind == kind }) else {
            return Check(ok: false, reason: "the run is not signed (no chain_signed entry)")
        }
        let entry = entries[index]
        let payload = entry.payload
        guard index > 0, let seq = payload["signed_seq"]?.intValue, seq == entries[index - 1].seq,
              payload["signed_hash"]?.stringValue == entries[index - 1].hash else {
            return Check(ok: false, reason: "the signature at seq \(entry.seq) does not cover the entry before it")
        }
        guard let signature = payload["signature"]?.stringValue.flatMap(hexBytes),
              publicKey.isValidSignature(Data(signature), for: Data(hexBytes(entries[index - 1].hash) ?? [])) else {
            return Check(ok: false, reason: "the signature at seq \(entry.seq) is not valid for this public key")
        }
        return Check(ok: true, reason: "signed by \(hex(publicKey.rawRepresentation).prefix(16))… over seq \(seq)")
    }

    // MARK: keys on disk: hex of the raw 32 bytes, one line

    /// The raw private key (checked to be a valid Ed25519 key).
    public static func loadPrivateKey(_ path: String) throws -> Data {
        let raw = try readHex(path)
        _ = try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        return raw
    }

    public static func loadPublicKey(_ path: String) throws -> Data {
        try readHex(path)
    }

    /// Writes `PREFIX.key` (0600) and `PREFIX.pub`.
    public static func generate(prefix: String) throws {
        let key = Curve25519.Signing.PrivateKey()
        let privatePath = prefix + ".key"
        FileManager.default.createFile(atPath: privatePath, contents: Data((hex(key.rawRepresentation) + "\n").utf8),
                                       attributes: [.posixPermissions: 0o600])
        try Data((hex(key.publicKey.rawRepresentation) + "\n").utf8).write(to: URL(fileURLWithPath: prefix + ".pub"))
    }

    static func readHex(_ path: String) throws -> Data {
        let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = hexBytes(text), bytes.count == 32 else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: path])
        }
        return Data(bytes)
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
