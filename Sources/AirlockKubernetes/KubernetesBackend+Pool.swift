import AirlockSandbox

extension KubernetesBackend {
    /// Not started ahead by a warm pool: a pod carries its run's label from its creation
    /// (resume reattaches and gc decides by it, and the harness's Role has no `patch` to add
    /// it later), and the run is not known before it takes a sandbox.
    public var poolable: Bool { false }
}
