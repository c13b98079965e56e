import AirlockSandbox
import Foundation
import NIOCore

/// The workspace's trips into the pod (at start) and back (at the end), each one exec of the
/// installed guest with a tar stream (WorkspaceSync), bounded in size and time.
extension KubeClient {
    /// Copies the host workspace into the pod's `/workspace`.
    func copyWorkspaceIn(_ sync: WorkspaceSync, pod: String, namespace: String,
                         timeout: Duration) async throws(SandboxError) -> WorkspaceSync.Summary {
        let (archive, summary) = try sync.pack()
        try await copyWorkspaceIn(archive, pod: pod, namespace: namespace, timeout: timeout)
        return summary
    }

    /// The workspace already packed (`WorkspaceSync.pack`).
    func copyWorkspaceIn(_ archive: Data, pod: String, namespace: String, timeout: Duration,
                         opened: ExecOpened? = nil) async throws(SandboxError) {
        try await unpack(archive, into: "/workspace", what: "the workspace", pod: pod, namespace: namespace, timeout: timeout,
                         fix: "check the pod's /workspace emptyDir is large enough for the workspace", opened: opened)
    }

    /// Streams a tar into `directory` of the pod through `airlock-guest --unpack` (which adds
    /// and replaces entries, never removes any).
    func unpack(_ archive: Data, into directory: String, what: String, pod: String, namespace: String,
                timeout: Duration, fix: String? = nil, opened: ExecOpened? = nil) async throws(SandboxError) {
        let (input, continuation) = AsyncStream<Data>.makeStream(bufferingPolicy: .unbounded)
        // Fed once the exec opens: a probe the kubelet refuses (start) copies nothing.
        let feed = ExecOpened {
            opened?.open()
            var offset = 0
            while offset < archive.count {
                let end = min(archive.count, offset + 1 << 20)
                continuation.yield(archive.subdata(in: offset..<end))
                offset = end
            }
        }
        // Not finished before the Status: closing stdin (v4 has no half-close) would close the
        // whole stream. The guest stops at the archive's trailer.
        defer { continuation.finish() }
        let errors = OutputBox(limit: 4096)
        let exit: ExecExit
        do {
            exit = try await run(KubeExec(pod: pod, namespace: namespace,
                                          command: GuestImage.launch(directory: GuestImage.installDirectory, arguments: ["--unpack", directory])),
                                 input: input, timeout: timeout, opened: feed) { channel, buffer in if channel == 2 { errors.append(buffer) } }
        } catch {
            throw SandboxError(.startFailed, "Kubernetes: cannot copy \(what) into pod \(pod): \(error.message)")
        }
        guard exit == .code(0) else {
            throw SandboxError(.startFailed, "Kubernetes: copying \(what) into pod \(pod) failed (\(exit)): \(errors.text)", fix: fix)
        }
    }

    /// What came back from a pod: its workspace, or nothing because another sandbox holds it.
    enum CopyBack {
        case copied(WorkspaceSync.Summary)
        /// The guest refused: the pod was reattached by a resumed run (the guest's words).
        case takenOver(String)
    }

    /// Copies the pod's `/workspace` back over the host workspace. With `holder`, only while
    /// that sandbox still holds the pod (see `airlock-guest --holder`).
    func copyWorkspaceOut(_ sync: WorkspaceSync, pod: String, namespace: String, timeout: Duration,
                          holder: String? = nil) async throws(SandboxError) -> CopyBack {
        let archive = OutputBox(limit: sync.limit)
        let errors = OutputBox(limit: 4096)
        let exit: ExecExit
        let arguments = ["--pack", "/workspace"] + (holder.map { ["--holder", $0] } ?? [])
        do {
            exit = try await runWatched(KubeExec(pod: pod, namespace: namespace,
                                                 command: GuestImage.launch(directory: GuestImage.installDirectory, arguments: arguments)),
                                        timeout: timeout) { channel, buffer in (channel == 1 ? archive : errors).append(buffer) }
        } catch {
            throw SandboxError(.unavailable, "Kubernetes: cannot copy the workspace back from pod \(pod): \(error.message)")
        }
        if holder != nil, exit == .code(GuestImage.takenOverStatus) { return .takenOver(errors.text) }
        guard !archive.overflowed else { throw sync.tooLarge("the pod's /workspace") }
        guard exit == .code(0) else {
            throw SandboxError(.unavailable, "Kubernetes: copying the workspace back from pod \(pod) failed (\(exit)): \(errors.text)")
        }
        return .copied(try sync.apply(archive.data))
    }
}

/// Bytes from an exec's channel, up to a limit (past it: `overflowed`, the rest dropped).
final class OutputBox: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = Data()
    private var over = false
    let limit: Int

    init(limit: Int) { self.limit = limit }

    func append(_ buffer: ByteBuffer) {
        lock.withLock {
            guard !over else { return }
            if bytes.count + buffer.readableBytes > limit { over = true; return }
            bytes.append(contentsOf: buffer.readableBytesView)
        }
    }

    var data: Data { lock.withLock { bytes } }
    var overflowed: Bool { lock.withLock { over } }
    var text: String { String(decoding: data.suffix(4096), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) }
}
