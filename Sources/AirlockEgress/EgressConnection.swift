import Foundation
import NIOCore

/// One sandbox connection and the record it will produce. Confined to its channel's event
/// loop; every handler of the connection (and of its upstream) shares it.
final class EgressConnection {
    let state: ProxyState
    let channel: any Channel
    private let id = UUID().uuidString
    private let startedAt = Date()
    private let started = ContinuousClock.now
    private let tag: String?

    var host = ""
    var port = 0
    var method = ""
    var path: String?
    var scheme = "tunnel"
    var allowed: Bool?
    var reason: String?
    var secretsUsed: [String] = []
    var bytesUp = 0
    var bytesDown = 0
    /// Allowed and carrying traffic: the budget may cut it.
    var admitted = false
    var upstream: (any Channel)?
    private var finished = false

    init(state: ProxyState, channel: any Channel, tag: String?) {
        self.state = state
        self.channel = channel
        self.tag = tag
    }

    func describe(_ target: EgressTarget, method: String, path: String?, scheme: String) {
        host = target.hostString
        port = target.port
        self.method = method
        self.path = path
        self.scheme = scheme
    }

    func allow() {
        allowed = true
        admitted = true
    }

    /// Records a refusal at once; the caller answers the client and closes.
    func deny(_ reason: String) {
        allowed = false
        self.reason = reason
        admitted = false
        finish()
    }

    /// Ends the connection early (budget, shutdown); the record keeps the first reason.
    func cut(reason: String) {
        if self.reason == nil { self.reason = reason }
        admitted = false
        upstream?.close(promise: nil)
        channel.close(promise: nil)
    }

    /// Called once the sandbox side has closed.
    func closed() {
        upstream?.close(promise: nil)
        finish()
    }

    private func finish() {
        // A connection that closed before naming a destination has nothing to record.
        guard !finished, !host.isEmpty else { return }
        finished = true
        if allowed == nil {
            allowed = false
            if reason == nil { reason = "closed before a decision" }
        }
        let elapsed = ContinuousClock.now - started
        let milliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        state.log.append(EgressRecord(
            id: id, startedAt: startedAt, host: host, port: port, method: method, path: path, scheme: scheme,
            allowed: allowed ?? false, reason: reason, bytesUp: bytesUp, bytesDown: bytesDown,
            durationMs: milliseconds, secrets: secretsUsed, tag: tag))
    }
}
