import Metrics

/// The metrics a fleet's workers report about the shared queue (DESIGN.md §7), named here
/// so `airlock worker` and dashboards agree on them before the worker exists:
/// `airlock_queue_depth` (runs waiting for a worker) and `airlock_lease_takeovers_total`
/// (runs taken over from a worker whose lease expired).
public enum FleetMetrics {
    public static let queueDepth = "airlock_queue_depth"
    public static let leaseTakeovers = "airlock_lease_takeovers_total"

    public static func recordQueueDepth(_ depth: Int) {
        Gauge(label: queueDepth).record(depth)
    }

    public static func leaseTakenOver() {
        Counter(label: leaseTakeovers).increment()
    }
}
