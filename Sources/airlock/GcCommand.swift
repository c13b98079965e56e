import AirlockCore
import AirlockKubernetes
import AirlockModels
import ArgumentParser
import Foundation

/// `airlock gc`: deletes sandbox pods whose runs have ended. Local tiers need no such command
/// (a dead harness's bundles and temp dirs are swept by the next sandbox start on the host);
/// a pod lives on a cluster, where only its labels say whose it is.
struct GcCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete Kubernetes sandbox pods whose runs have ended.",
        discussion: """
        Lists the pods labelled app.kubernetes.io/managed-by=airlock in the namespace and \
        looks each one's run (label airlock.dev/run) up in this state dir or --database. A pod \
        of a finished run is deleted. A pod of an interrupted run is kept: `airlock resume` \
        copies its /workspace back first (--include-interrupted deletes it anyway). Pods of \
        runs this store does not know, and pods of no run (`airlock exec`), are kept and listed; \
        their activeDeadlineSeconds ends them. --dry-run only prints what would go.
        """
    )

    @OptionGroup var cluster: ClusterOptions
    @Flag(name: .long, help: "Also delete pods of interrupted runs (their work not yet copied back is lost).")
    var includeInterrupted = false
    @Flag(name: .long, help: "Print what would be deleted; delete nothing.")
    var dryRun = false
    @Flag(name: .long, help: "One JSON object per pod on stdout.")
    var json = false
    @OptionGroup var state: StateOptions

    func run() async throws {
        let config: KubeConfig
        do { config = try KubeConfig.load(path: cluster.kubeconfig, context: cluster.kubeContext) } catch {
            throw CLIError("Kubernetes: \(error.message) (fix: --kubeconfig/--kube-context; `airlock doctor` checks the tier)", code: 2)
        }
        let namespace = cluster.namespace ?? config.namespace ?? "default"
        let client: KubeClient
        do { client = try KubeClient(config: config) } catch { throw CLIError("Kubernetes: \(error.message)", code: 2) }
        let outcome: Result<[JSONValue], CLIError>
        do {
            outcome = .success(try await sweep(client, namespace: namespace))
        } catch let error as CLIError {
            outcome = .failure(error)
        } catch {
            outcome = .failure(CLIError("\(error)", code: 1))
        }
        await client.shutdown()
        let lines = try outcome.get()
        if lines.isEmpty && !json { print("no sandbox pods in namespace \(namespace)") }
    }

    /// Decides and acts pod by pod; prints one line (or JSON object) each.
    func sweep(_ client: KubeClient, namespace: String) async throws -> [JSONValue] {
        let objects: [[String: Any]]
        do {
            objects = try await client.pods(namespace: namespace, selector: PodSpec.managedBy.map { "\($0.key)=\($0.value)" }.joined(separator: ","))
        } catch {
            throw CLIError("Kubernetes: cannot list pods in namespace \(namespace): \(error.message) (fix: `airlock doctor --kubeconfig ...` names the missing right)", code: 1)
        }
        let store = try await state.open()
        var lines: [JSONValue] = []
        for pod in objects.map(PodStatus.init(object:)) {
            let run = pod.labels[PodSpec.runLabel]
            var status: RunStatus?
            if let run, let record = try await store.run(id: run) {
                status = record.status
                // Its harness is gone (no worker, no live hold, its lock free), as `runs` shows it.
                if status == .running, !record.isDriven(stateDirectory: store.stateDirectory) { status = .interrupted }
            }
            let (delete, reason): (Bool, String) = switch status {
            case .finished: (true, "its run finished")
            case .interrupted where includeInterrupted: (true, "its run was interrupted (--include-interrupted)")
            case .interrupted: (false, "its run was interrupted: `airlock resume \(run ?? "")` recovers its /workspace first")
            case .some(let other): (false, "its run is \(other.rawValue)")
            case nil: (false, run == nil ? "it belongs to no run (airlock exec)" : "its run is not in this store")
            }
            var deleted = false
            if delete && !dryRun {
                await client.deletePodAndWait(pod.name, namespace: namespace)
                deleted = (try? await client.pod(pod.name, namespace: namespace)) == nil
            }
            let line: JSONValue = ["pod": .string(pod.name), "run": run.map { .string($0) } ?? .null,
                                   "phase": .string(pod.phase), "delete": .bool(delete), "deleted": .bool(deleted),
                                   "reason": .string(reason)]
            lines.append(line)
            if json { print(line.canonicalJSON) } else {
                let action = !delete ? "kept   " : dryRun ? "would delete" : deleted ? "deleted" : "FAILED to delete"
                print("\(action) \(pod.name) (\(pod.phase)): \(reason)")
            }
        }
        return lines
    }
}
