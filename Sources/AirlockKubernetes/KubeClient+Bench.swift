import AirlockSandbox

/// The workspace trips alone, for `airlock-bench kubernetes`'s copy throughput series.
extension KubeClient {
    /// Copies the directory `root` into the pod's `/workspace` as the backend does at start.
    package func benchCopyIn(root: String, limit: Int, pod: String, namespace: String) async throws(SandboxError) {
        _ = try await copyWorkspaceIn(WorkspaceSync(root: root, limit: limit), pod: pod, namespace: namespace, timeout: .seconds(120))
    }

    /// Copies the pod's `/workspace` back over `root` as the backend does at the end; the entries.
    package func benchCopyOut(root: String, limit: Int, pod: String, namespace: String) async throws(SandboxError) -> Int {
        let back = try await copyWorkspaceOut(WorkspaceSync(root: root, limit: limit), pod: pod, namespace: namespace, timeout: .seconds(120))
        guard case .copied(let summary) = back else { throw SandboxError(.unavailable, "pod \(pod) is held by another sandbox") }
        return summary.entries
    }
}
