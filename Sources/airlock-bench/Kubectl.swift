import Foundation
import Glibc

/// Runs `kubectl` (the baseline) with the bench's kubeconfig and namespace, bounded in time.
struct Kubectl {
    var path: String
    var kubeconfig: String?
    var namespace: String?
    var limit: TimeInterval = 120

    /// `$AIRLOCK_BENCH_KUBECTL`; the test cluster's (Debian's kubernetes-client, the cluster's
    /// version); `/usr/bin/kubectl`; the first on PATH.
    static func locate() -> String? {
        let environment = ProcessInfo.processInfo.environment
        let path = environment["PATH"] ?? "/usr/bin:/bin"
        let candidates = [environment["AIRLOCK_BENCH_KUBECTL"] ?? "", "/var/cache/airlock-test/k8s/root/usr/bin/kubectl", "/usr/bin/kubectl"]
            + path.split(separator: ":").map { $0 + "/kubectl" }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs it to the end; throws with its stderr when it fails or runs past the limit.
    func check(_ arguments: [String], stdin: String? = nil, stdout: String? = nil) throws {
        let process = Process()
        let full = (kubeconfig.map { ["--kubeconfig", $0] } ?? []) + (namespace.map { ["--namespace", $0] } ?? []) + arguments
        if let stdin {
            // Through a shell's redirection, as a script would.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "exec \"$0\" \"$@\" < \"$AIRLOCK_BENCH_STDIN\"", path] + full
            process.environment = ProcessInfo.processInfo.environment.merging(["AIRLOCK_BENCH_STDIN": stdin]) { $1 }
        } else {
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = full
        }
        let errors = NSTemporaryDirectory() + "airlock-bench-kubectl-\(getpid()).err"
        FileManager.default.createFile(atPath: errors, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: errors) }
        process.standardError = FileHandle(forWritingAtPath: errors)
        process.standardInput = FileHandle.nullDevice
        if let stdout {
            FileManager.default.createFile(atPath: stdout, contents: nil)
            process.standardOutput = FileHandle(forWritingAtPath: stdout)
        } else {
            process.standardOutput = FileHandle.nullDevice
        }
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let message = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            throw BenchError("kubectl \(arguments.prefix(3).joined(separator: " ")) failed (\(process.terminationStatus)): "
                             + message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }
}
