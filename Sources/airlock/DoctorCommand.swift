import AirlockExec
import AirlockKubernetes
import AirlockModels
import AirlockProtocol
import AirlockSandbox
import AirlockStorePostgres
import ArgumentParser
import Foundation

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check what this host supports and which sandbox backend will be used.",
        discussion: """
        Checks bubblewrap, user namespaces, seccomp, cgroups (v1 and v2), Landlock, then \
        tries every isolation tier for real (gvisor, bwrap, oci, landlock: a sandbox started, \
        /bin/true run in it) and prints the ladder: which tiers work here, which one \
        `--sandbox auto` picks, and for each missing one the exact fix (docs/tiers.md). \
        When a kubeconfig is found (--kubeconfig, $KUBECONFIG, ~/.kube/config or in-cluster), \
        the kubernetes tier's context, apiserver and rights in --namespace are checked too and \
        reported beside the ladder. Exit status 0 when auto finds a working tier, 1 otherwise.

        With --sandbox kubernetes only that tier is checked, and for real: the context, the \
        apiserver, the rights, the runtime class (--runtime-class), then a sandbox pod of \
        --image is started, answers, and is deleted, and from it a connection to the apiserver \
        shows whether the cluster enforces the default-deny NetworkPolicy. Exit 0 when every \
        check passes, 1 otherwise.
        """
    )

    @Flag(name: .long, help: "Print the findings as one JSON object.")
    var json = false

    @Option(name: .long, help: ArgumentHelp("The runsc binary to check for the gvisor tier (default: $RUNSC, else runsc on PATH).", valueName: "path"))
    var runsc: String?

    @Option(name: .long, help: ArgumentHelp("Check this PostgreSQL database instead of the host: connectivity, server version (13 or newer), schema, clock skew.", valueName: "url"))
    var database: String?

    /// The kubernetes tier is checked when a kubeconfig is found (the rights in `namespace`).
    @OptionGroup var cluster: ClusterOptions

    @Option(name: .long, help: ArgumentHelp("kubernetes: check only that tier, starting a real pod (the only value taken here).", valueName: "tier"))
    var sandbox: String?

    @Option(name: .long, help: ArgumentHelp("With --sandbox kubernetes: the sandbox image of the test pod (default \(KubernetesOptions.defaultImage)).", valueName: "ref"))
    var image: String?

    @Option(name: .long, help: ArgumentHelp("With --sandbox kubernetes: the guest image (default \(GuestImage.defaultReference)).", valueName: "ref"))
    var guestImage: String?

    @Option(name: .long, help: ArgumentHelp("With --sandbox kubernetes: the runtime class to check and start the pod with.", valueName: "name"))
    var runtimeClass: String?

    func validate() throws {
        if let sandbox, sandbox != "kubernetes" {
            throw ValidationError("doctor --sandbox takes only kubernetes (the local tiers are all checked without it)")
        }
        if sandbox == nil, image != nil || guestImage != nil || runtimeClass != nil {
            throw ValidationError("--image, --guest-image and --runtime-class go with --sandbox kubernetes")
        }
    }

    func run() async throws {
        if sandbox == "kubernetes" {
            try await checkKubernetes()
            return
        }
        if let database {
            let report = await PostgresDiagnosis.run(url: database)
            if json {
                let checks: [JSONValue] = report.checks.map { check in
                    ["name": .string(check.name), "ok": .bool(check.ok), "detail": .string(check.detail),
                     "fix": check.fix.map { .string($0) } ?? .null]
                }
                print(JSONValue.object(["ok": .bool(report.ok), "checks": .array(checks)]).canonicalJSON)
            } else {
                for check in report.checks {
                    print("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)")
                    if let fix = check.fix, !check.ok { print("     fix: \(fix)") }
                }
            }
            // A database that cannot be used is a usage error, as for every other command.
            if !report.ok { throw ExitCode(2) }
            return
        }
        let report = await HostReport.gather(runsc: runsc)
        // The kubernetes tier is never in auto's ladder: its checks are reported, not counted.
        let kubernetes = KubernetesDiagnosis.configured(path: cluster.kubeconfig)
            ? await KubernetesDiagnosis.run(kubeconfig: cluster.kubeconfig, context: cluster.kubeContext, namespace: cluster.namespace) : nil
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            var object = (try JSONSerialization.jsonObject(with: try encoder.encode(report))) as? [String: Any] ?? [:]
            object["kubernetes"] = try kubernetes.map { try JSONSerialization.jsonObject(with: try encoder.encode($0)) } ?? NSNull()
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        } else {
            for check in report.checks {
                print("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)")
                if let fix = check.fix, !check.ok { print("     fix: \(fix)") }
            }
            print("tiers (strongest first; auto tries \(SandboxTier.ladder.map(\.rawValue).joined(separator: ", ")) in that order):")
            for tier in report.tiers {
                let mark = tier.works ? "ok  " : "--  "
                let version = tier.version.map { " [\($0)]" } ?? ""
                let auto = tier.inAuto ? "" : " (only with --sandbox \(tier.tier))"
                print("  \(mark)\(tier.tier)\(version): \(tier.detail)\(auto)")
                if !tier.works, let fix = tier.fix { print("       fix: \(fix)") }
            }
            print("backend: \(report.backend ?? "none usable") (what --sandbox auto uses)")
            if let kubernetes {
                print("kubernetes tier (--sandbox kubernetes):")
                for check in kubernetes {
                    print("  \(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)")
                    if let fix = check.fix, !check.ok { print("       fix: \(fix)") }
                }
            } else {
                print("kubernetes tier: not configured (no --kubeconfig, $KUBECONFIG, ~/.kube/config or in-cluster account)")
            }
        }
        if report.backend == nil { throw ExitCode(1) }
    }

    /// `--sandbox kubernetes`: that tier alone, a real pod included.
    private func checkKubernetes() async throws {
        var checks = await KubernetesDiagnosis.run(kubeconfig: cluster.kubeconfig, context: cluster.kubeContext, namespace: cluster.namespace)
        if checks.allSatisfy(\.ok) {
            checks += await KubernetesDiagnosis.podChecks(
                options: cluster.kubernetes(image: image, runtimeClass: runtimeClass, guestImage: guestImage))
        }
        let ok = checks.allSatisfy(\.ok)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let object: [String: Any] = ["ok": ok, "kubernetes": try JSONSerialization.jsonObject(with: try encoder.encode(checks))]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
        } else {
            print("kubernetes tier (--sandbox kubernetes):")
            for check in checks {
                print("  \(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)")
                if let fix = check.fix, !check.ok { print("       fix: \(fix)") }
            }
        }
        if !ok { throw ExitCode(1) }
    }
}
