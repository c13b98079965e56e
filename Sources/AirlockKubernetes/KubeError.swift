/// Why a call to the cluster failed: the HTTP status (0 when no answer came) and the
/// apiserver's own message (its Status object's `message`) or the transport's.
public struct KubeError: Error, Sendable, CustomStringConvertible {
    public var status: Int
    public var reason: String
    public var message: String

    public init(status: Int, reason: String = "", message: String) {
        self.status = status
        self.reason = reason
        self.message = message
    }

    public var description: String {
        status == 0 ? message : "HTTP \(status)\(reason.isEmpty ? "" : " \(reason)"): \(message)"
    }

    public var isNotFound: Bool { status == 404 }
    public var isForbidden: Bool { status == 403 }
    public var isUnauthorized: Bool { status == 401 }
}
