import AirlockExec
import AirlockCore
import AirlockProtocol
import AirlockSandbox
import Foundation
import AirlockLandlock
import AirlockSandboxHost
import AirlockStoreSQLite

/// What `airlock doctor` found.
struct HostReport: Encodable {
    struct Check: Encodable {
        var name: String
        var ok: Bool
        var detail: String
        var fix: String?
    }

    var checks: [Check] = []
    /// What `--sandbox auto` uses here (the first working tier of its ladder).
    var backend: String?
    var tiers: [TierCheck] = []

    static func gather(runsc: String? = nil) async -> HostReport {
        var report = HostReport()
        let probe = HostProbe.current()
        report.checks.append(Check(name: "bubblewrap", ok: probe.bwrapVersion != nil,
                                   detail: probe.bwrapVersion.map { "\(probe.bwrapPath ?? "bwrap") (\($0))" } ?? "not found",
                                   fix: "apt-get install -y bubblewrap"))
        report.checks.append(Check(name: "user namespaces", ok: probe.userNamespaces,
                                   detail: probe.userNamespaceDetail,
                                   fix: "sysctl -w kernel.unprivileged_userns_clone=1; sysctl -w user.max_user_namespaces=15000 (on Ubuntu 24.04+ also: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)"))
        report.checks.append(Check(name: "seccomp", ok: probe.seccompFilter,
                                   detail: "libseccomp \(SeccompFilter.libraryVersion); filter \(probe.seccompFilter ? "built" : "could not be built")",
                                   fix: "apt-get install -y libseccomp2"))
        report.checks.append(Check(name: "cgroups", ok: probe.cgroupLimits,
                                   detail: probe.cgroups.summary + (probe.cgroupLimits ? "; memory, pids and cpu limits enforceable" : "; limits NOT enforceable"),
                                   fix: geteuid() == 0 ? "mount cgroup v2 with memory, pids and cpu controllers, or cgroup v1"
                                       : "run as root, or under a delegated cgroup v2 subtree (systemd-run --user --scope -p Delegate=yes)"))
        report.checks.append(Check(name: "landlock", ok: probe.landlockABI > 0,
                                   detail: probe.landlockABI > 0 ? "ABI \(probe.landlockABI)\(probe.landlockABI < 4 ? " (TCP rules need ABI 4, Linux 6.7)" : probe.landlockABI < 6 ? " (signal and socket scoping need ABI 6, Linux 6.12)" : "")" : "not available (only the landlock tier needs it)",
                                   fix: probe.landlockABI > 0 ? nil : LandlockBackend.unavailableFix))
        report.checks.append(Check(name: "run as", ok: true,
                                   detail: geteuid() == 0 ? "root: sandboxes run as an unprivileged uid (the workspace owner, or 65532)" : "uid \(geteuid())"))
        report.checks.append(imageCheck(stateDirectory: Store.defaultStateDirectory().path))
        // The proof: start a real sandbox of every tier and run a command in it.
        let workspace = NSTemporaryDirectory() + "airlock-doctor-\(getpid())"
        try? FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        report.tiers = await TierCheck.ladder(workspace: workspace, runsc: runsc)
        let chosen = SandboxTier.ladder.first { tier in report.tiers.contains { $0.tier == tier.rawValue && $0.works } }
        if let chosen, let proof = report.tiers.first(where: { $0.tier == chosen.rawValue }) {
            report.backend = chosen.rawValue
            report.checks.append(Check(name: "sandbox", ok: true, detail: "\(chosen.rawValue): \(proof.detail)"))
            if chosen != .landlock {
                report.checks.append(await egressCheck(workspace: workspace, backend: SandboxTiers.backend(chosen)))
            }
        } else {
            report.checks.append(Check(name: "sandbox", ok: false, detail: "no tier of auto's ladder works here",
                                       fix: "see the tiers below; each says its fix"))
        }
        return report
    }

    /// `--allow-host` end to end: a sandbox asks the proxy, through the guest's relay, for a
    /// host nobody allowed; the proxy must answer 403 and record it.
    static func egressCheck(workspace: String, backend: any SandboxBackend) async -> Check {
        let name = "egress proxy"
        do {
            let gate = try await EgressGate.open(EgressSettings(allowHosts: ["allowed.invalid"]), secretValues: [:], maxBytes: nil)
            var configuration = SandboxConfiguration(workspace: workspace)
            configuration.network = .proxy
            configuration.egress = gate.attachment
            let answer: String
            do {
                let sandbox = try await backend.start(configuration)
                let result = try await sandbox.guest.exec(ExecRequest(argv: ["/bin/bash", "-c", """
                    exec 3<>/dev/tcp/127.0.0.1/\(gate.attachment.port) && \
                    printf 'GET http://unlisted.invalid/ HTTP/1.1\\r\\nHost: unlisted.invalid\\r\\n\\r\\n' >&3 && head -c 12 <&3
                    """], timeoutMs: 10_000))
                await sandbox.kill()
                answer = String(decoding: result.stdout, as: UTF8.self)
            } catch {
                await gate.close()
                throw error
            }
            await gate.close()
            let recorded = gate.takeRecords().contains { !$0.allowed && $0.host == "unlisted.invalid" }
            let ok = answer == "HTTP/1.1 403" && recorded
            return Check(name: name, ok: ok,
                         detail: ok ? "relay and proxy answer inside: an unlisted host was refused and recorded"
                             : "expected a 403 from the proxy inside, got '\(answer)'" + (recorded ? "" : " and no record"),
                         fix: ok ? nil : "run `airlock exec --allow-host example.com -- true` to see the error")
        } catch {
            return Check(name: name, ok: false, detail: "\(error)", fix: nil)
        }
    }
}
