import Crypto

/// A credential the sandbox only ever sees as `placeholder`. The proxy swaps the
/// placeholder for `value` in request headers (and the request line) of requests to one of
/// `hosts`, and nowhere else.
public struct EgressSecret: Sendable {
    public let name: String
    public let value: String
    public let placeholder: String
    public let hosts: [EgressRule]

    public init(name: String, value: String, placeholder: String, hosts: [EgressRule]) {
        self.name = name
        self.value = value
        self.placeholder = placeholder
        self.hosts = hosts
    }

    /// `airlock-secret-NAME-<32 hex digits>`: unguessable, so text that happens to look
    /// like it is never mistaken for it, and plain enough to survive any header encoding.
    public static func makePlaceholder(name: String) -> String {
        let safeName = String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") ? $0 : "_" })
        let random = SymmetricKey(size: .bits128).withUnsafeBytes { bytes in
            bytes.map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined()
        }
        return "airlock-secret-\(safeName)-\(random)"
    }

    func applies(to target: EgressTarget) -> Bool {
        hosts.contains { $0.matches(target) }
    }
}
