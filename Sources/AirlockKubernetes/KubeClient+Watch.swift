import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// Watching one pod: the apiserver streams each change as it happens (`?watch=1`, one JSON
/// `{"type": …, "object": …}` per line), so a wait ends when the pod changes instead of at
/// the next poll.
extension KubeClient {
    /// Hands `decide` the pod's state — the current one first, then every change — until it
    /// returns a value. A pod that does not exist or is deleted is `nil`. Bounded by
    /// `timeout` (a KubeError with reason "Timeout"); each watch request is bounded on the
    /// server too (`timeoutSeconds`) and renewed from the last resourceVersion it saw.
    public func watchPod<Value: Sendable>(_ name: String, namespace: String, timeout: Duration,
                                          until decide: @escaping @Sendable ([String: Any]?) throws(KubeError) -> Value?)
        async throws(KubeError) -> Value
    {
        let found = Mutex<Value?>(nil)
        let outcome = await Race.run(timeout: timeout, timedOut: KubeError(status: 0, reason: "Timeout",
                                                                               message: "pod \(name) did not change as awaited within \(timeout)")) {
            let deadline = ContinuousClock.now + timeout
            let value = try await self.follow(name, namespace: namespace, deadline: deadline, decide: decide)
            found.withLock { $0 = value }
        }
        if case .failure(let error) = outcome {
            throw error as? KubeError ?? KubeError(status: 0, message: "watching pod \(name): \(error)")
        }
        guard let value = found.withLock({ $0 }) else {
            throw KubeError(status: 0, message: "watching pod \(name) ended without an answer")
        }
        return value
    }

    /// List (the current state and its resourceVersion), then watch from there; a watch the
    /// apiserver ends (its timeout, 410 Gone for a resourceVersion too old) starts again.
    private func follow<Value>(_ name: String, namespace: String, deadline: ContinuousClock.Instant,
                               decide: ([String: Any]?) throws(KubeError) -> Value?) async throws(KubeError) -> Value {
        let selector = "fieldSelector=metadata.name%3D" + name
        var version: String?
        while true {
            if version == nil {
                let list = try await object(.GET, Self.podsPath(namespace) + "?" + selector)
                if let value = try decide((list["items"] as? [[String: Any]])?.first) { return value }
                version = (list["metadata"] as? [String: Any])?["resourceVersion"] as? String
                guard version != nil else { throw KubeError(status: 0, message: "the apiserver's pod list has no resourceVersion to watch from") }
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw KubeError(status: 0, reason: "Timeout", message: "pod \(name): watch deadline passed") }
            // Under the client's read timeout, so an idle watch ends on the server's side.
            let seconds = max(1, min(Int(left.components.seconds) + 1, Int(requestTimeout.components.seconds) - 1))
            let path = Self.podsPath(namespace) + "?watch=1&allowWatchBookmarks=true&\(selector)"
                + "&timeoutSeconds=\(seconds)&resourceVersion=\(version ?? "")"
            var request = HTTPClientRequest(url: restBase + path)
            request.headers = headers(json: false)
            do {
                let response = try await http.execute(request, timeout: .milliseconds(Int64(requestTimeout / .milliseconds(1))))
                guard response.status == .ok else {
                    let body = try await response.body.collect(upTo: 1024 * 1024)
                    throw Self.statusError(Int(response.status.code), Data(body.readableBytesView))
                }
                var lines = WatchLines()
                for try await chunk in response.body {
                    for line in try lines.take(chunk) {
                        switch try WatchEvent(line: line, pod: name) {
                        case .changed(let object, let seen):
                            version = seen ?? version
                            if let value = try decide(object) { return value }
                        case .deleted:
                            if let value = try decide(nil) { return value }
                        case .bookmark(let seen):
                            version = seen ?? version
                        case .expired:
                            version = nil
                        }
                    }
                }
            } catch let error as KubeError {
                throw error
            } catch {
                throw KubeError(status: 0, message: "watching pod \(name) at \(config.server): \(error)")
            }
        }
    }
}

/// Newline-delimited watch events reassembled across chunks, each line capped.
struct WatchLines {
    private var pending: [UInt8] = []
    static let maxLine = 8 * 1024 * 1024

    mutating func take(_ chunk: ByteBuffer) throws(KubeError) -> [[UInt8]] {
        pending += chunk.readableBytesView
        var lines: [[UInt8]] = []
        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
            let line = Array(pending[..<newline])
            pending.removeSubrange(...newline)
            if !line.isEmpty { lines.append(line) }
        }
        guard pending.count <= Self.maxLine else {
            throw KubeError(status: 0, message: "a watch event longer than \(Self.maxLine) bytes")
        }
        return lines
    }
}

/// One line of a watch, as far as following a pod needs it.
enum WatchEvent {
    case changed([String: Any], resourceVersion: String?)
    case deleted
    case bookmark(resourceVersion: String?)
    /// 410 Gone: the resourceVersion is too old to watch from; list again.
    case expired

    init(line: [UInt8], pod: String) throws(KubeError) {
        guard let event = (try? JSONSerialization.jsonObject(with: Data(line))) as? [String: Any],
              let type = event["type"] as? String, let object = event["object"] as? [String: Any] else {
            throw KubeError(status: 0, message: "the apiserver sent a watch event that is not one: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        let version = (object["metadata"] as? [String: Any])?["resourceVersion"] as? String
        switch type {
        case "ADDED", "MODIFIED": self = .changed(object, resourceVersion: version)
        case "DELETED": self = .deleted
        case "BOOKMARK": self = .bookmark(resourceVersion: version)
        case "ERROR":
            let code = object["code"] as? Int ?? 0
            if code == 410 { self = .expired; return }
            throw KubeError(status: code, reason: object["reason"] as? String ?? "",
                            message: "watching pod \(pod): \(object["message"] as? String ?? "an error event")")
        default:
            throw KubeError(status: 0, message: "watching pod \(pod): an event of unknown type \(type)")
        }
    }
}
