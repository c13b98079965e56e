/// Faults in how the proxy was configured or started. Refusals of traffic are not errors:
/// they are records with `allowed == false`.
public enum EgressError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidRule(String, reason: String)
    case invalidResolveOverride(host: String, address: String)
    case invalidSecret(name: String, reason: String)
    case certificateAuthority(String)
    case listen(String)

    public var description: String {
        switch self {
        case let .invalidRule(text, reason): "invalid allow entry \"\(text)\": \(reason)"
        case let .invalidResolveOverride(host, address):
            "invalid resolve override for \(host): \"\(address)\" is not an IP address"
        case let .invalidSecret(name, reason): "invalid secret \(name): \(reason)"
        case let .certificateAuthority(reason): "could not create the egress certificate authority: \(reason)"
        case let .listen(reason): "egress proxy could not listen: \(reason)"
        }
    }
}
