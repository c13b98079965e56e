import AirlockKubernetes
import AirlockProtocol
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Testing

/// The escape suite's attacks that make sense in a pod, made for real from a command the
/// guest runs, each asserted to fail. Every target is the pod itself or a process this test
/// started; nothing here could harm the host if an attack succeeded.
@Suite("kubernetes: escapes attempted from a pod", .serialized, .timeLimit(.minutes(3)))
struct PodEscapeTests {
    @Test("replace the guest (directly or through the guest container's writable mount), read a token, gain privileges or capabilities, mount, write the root fs or kernel settings, see a host process: all fail")
    func attacksFail() async throws {
        guard TestCluster.present("attacksFail") else { return }
        let workspace = try TestCluster.workspace()
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        // A host process with a marker only this test knows: the pod must not see it.
        let marker = "\(Int.random(in: 100_000...999_999)).25"
        let bystander = Process()
        bystander.executableURL = URL(fileURLWithPath: "/bin/sleep")
        bystander.arguments = [marker]
        try bystander.run()
        defer { kill(bystander.processIdentifier, SIGKILL); bystander.waitUntilExit() }

        let sandbox = try await withLimit(.seconds(90)) {
            try await TestCluster.backend().start(SandboxConfiguration(workspace: workspace))
        }
        func attempt(_ script: String) async throws -> (code: Int32?, out: String) {
            let result = try await withLimit(.seconds(30)) {
                try await sandbox.guest.exec(ExecRequest(argv: ["sh", "-c", script + " 2>&1"], timeoutMs: 20_000))
            }
            return (result.status.code, String(decoding: result.stdout, as: UTF8.self))
        }
        do {
            // The guest the next exec starts (a resume's --fence, --pack) cannot be replaced.
            let replace = try await attempt("cp /bin/sh /opt/airlock/airlock-guest || echo x > /opt/airlock/airlock-guest")
            #expect(replace.code != 0, "the guest was overwritten: \(replace.out)")
            let plant = try await attempt("touch /opt/airlock/planted")
            #expect(plant.code != 0, "a file was planted beside the guest: \(plant.out)")
            // Nor through the `guest` container, which mounts the same volume writable: it is
            // in its own pid namespace (no /proc/PID/root to reach its mounts), the mount
            // cannot be made writable here, and a write through every visible process's root fails.
            let remount = try await attempt("mount -o remount,rw /opt/airlock")
            #expect(remount.code != 0, "the guest's volume was remounted writable: \(remount.out)")
            let readOnly = try await attempt("grep ' /opt/airlock ' /proc/self/mountinfo")
            #expect(readOnly.out.contains(" ro,") || readOnly.out.contains(" ro "), "mounted read-only in main: \(readOnly.out)")
            let sidecar = try await attempt("grep -l '^/airlock/airlock-guest' /proc/[0-9]*/cmdline; echo end")
            #expect(!sidecar.out.contains("/cmdline"), "the guest container's process is visible from main: \(sidecar.out)")
            let through = try await attempt("for p in /proc/[0-9]*; do echo x > $p/root/opt/airlock/airlock-guest && echo WROTE $p; touch $p/root/opt/airlock/planted2 && echo PLANTED $p; done; true")
            #expect(!through.out.contains("WROTE") && !through.out.contains("PLANTED"), "a write through a process's root: \(through.out)")
            let guest = try await attempt("/opt/airlock/airlock-guest --help | head -1; ls /opt/airlock")
            #expect(guest.out.contains("airlock-guest: the in-sandbox side"), "the guest is intact: \(guest.out)")
            #expect(!guest.out.contains("planted"), "nothing planted beside the guest: \(guest.out)")
            // No credentials of the cluster.
            let token = try await attempt("cat /var/run/secrets/kubernetes.io/serviceaccount/token")
            #expect(token.code != 0, "\(token.out)")
            // Not root, no capabilities, no way to gain privileges.
            let status = try await attempt("id -u; grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd|CapAmb):' /proc/self/status")
            #expect(status.out.hasPrefix("65532\n"), "\(status.out)")
            for field in ["CapEff", "CapPrm", "CapBnd", "CapAmb"] {
                #expect(status.out.contains("\(field):\t0000000000000000"), "\(field): \(status.out)")
            }
            #expect(status.out.contains("NoNewPrivs:\t1"), "\(status.out)")
            // Mounts and the root file system.
            let mount = try await attempt("mkdir -p /tmp/m && mount -t tmpfs none /tmp/m")
            #expect(mount.code != 0, "a mount succeeded: \(mount.out)")
            let root = try await attempt("touch /usr/planted || touch /planted")
            #expect(root.code != 0, "the root fs took a write: \(root.out)")
            // Kernel settings (the pod's own UTS namespace: harmless if it worked).
            let sysctl = try await attempt("echo airlock-escape > /proc/sys/kernel/hostname")
            #expect(sysctl.code != 0, "a kernel setting was written: \(sysctl.out)")
            // A user namespace would bring capabilities back.
            let unshare = try await attempt("if command -v unshare >/dev/null; then unshare -U -r id; else echo no-unshare; exit 3; fi")
            if !unshare.out.contains("no-unshare") {
                #expect(unshare.code != 0, "a user namespace was made: \(unshare.out)")
            }
            // The host's processes are out of sight.
            // (The pattern's brackets keep grep and its shell from matching themselves.)
            let pattern = "[\(marker.prefix(1))]\(marker.dropFirst().replacingOccurrences(of: ".", with: "[.]"))"
            let host = try await attempt("grep -l '\(pattern)' /proc/[0-9]*/cmdline; ls /proc | grep -c '^[0-9]'")
            #expect(!host.out.contains("/cmdline"), "a host process is visible: \(host.out)")
            #expect((Int(host.out.split(separator: "\n").last ?? "") ?? 99) < 20, "the pod sees few processes: \(host.out)")
        } catch {
            await sandbox.kill()
            throw error
        }
        await sandbox.kill()
    }
}
