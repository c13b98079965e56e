import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// One isolation tier as the end-to-end suite drives it: `--sandbox NAME` plus the
/// environment that picks a runtime (oci on crun, and on runc).
struct TierUnderTest: CustomTestStringConvertible, Sendable {
    let label: String
    let sandbox: String
    let environment: [String: String]
    /// The backend name `sandbox_started` records.
    let backend: String
    /// What the recorded backend version starts with.
    let versionPrefix: String

    var testDescription: String { label }

    static let all: [TierUnderTest] = [
        TierUnderTest(label: "bwrap", sandbox: "bwrap", environment: [:], backend: "bwrap", versionPrefix: "bwrap"),
        TierUnderTest(label: "oci/crun", sandbox: "oci", environment: ["AIRLOCK_OCI_RUNTIME": "crun"], backend: "oci", versionPrefix: "crun"),
        TierUnderTest(label: "oci/runc", sandbox: "oci", environment: ["AIRLOCK_OCI_RUNTIME": "runc"], backend: "oci", versionPrefix: "runc"),
        TierUnderTest(label: "gvisor", sandbox: "gvisor", environment: [:], backend: "gvisor", versionPrefix: "runsc"),
        TierUnderTest(label: "landlock", sandbox: "landlock", environment: [:], backend: "landlock", versionPrefix: "landlock ABI"),
    ]

    /// Whether the tier starts here, decided once by a real `airlock exec` of /bin/true;
    /// nil when it works, else why not (printed by the test that skips it).
    var unavailable: String? { TierHost.unavailable(self) }

    /// Prints why the tier is skipped here, and returns false; never a silent skip.
    func present() -> Bool {
        guard let reason = unavailable else { return true }
        print("SKIP [\(label)]: this host cannot run the tier: \(reason)")
        return false
    }
}

enum TierHost {
    private static let probes: [String: String?] = {
        var results: [String: String?] = [:]
        let workspace = NSTemporaryDirectory() + "airlock-tier-probe-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        chmod(workspace, 0o755)
        defer { try? FileManager.default.removeItem(atPath: workspace) }
        for tier in TierUnderTest.all {
            guard let process = try? AirlockProcess(["exec", "--sandbox", tier.sandbox, "--workspace", workspace, "--", "/bin/true"],
                                                    environment: tier.environment) else {
                results[tier.label] = .some("the airlock executable is not built")
                continue
            }
            let deadline = Date().addingTimeInterval(60)
            while process.process.isRunning && Date() < deadline { usleep(20_000) }
            if process.process.isRunning { kill(process.pid, SIGKILL) }
            process.process.waitUntilExit()
            results[tier.label] = process.status == 0 ? .some(nil)
                : .some(process.stderr.trimmingCharacters(in: .whitespacesAndNewlines))
            process.cleanUp()
        }
        return results
    }()

    static func unavailable(_ tier: TierUnderTest) -> String? {
        probes[tier.label] ?? "not probed"
    }

    /// Host pids of the harness `harness`'s descendants.
    static func descendants(of harness: pid_t) -> [pid_t] {
        var parents: [pid_t: pid_t] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { parents[pid] = parent }
        }
        return parents.keys.filter { pid in
            var current = pid
            for _ in 0..<64 {
                guard let parent = parents[current] else { return false }
                if parent == harness { return true }
                current = parent
            }
            return false
        }
    }

    /// Kills the sandbox of `harness` from outside: its guest where the host sees it (bwrap,
    /// crun, runc, landlock), else gVisor's sandbox processes.
    static func killSandbox(of harness: pid_t) -> Int {
        var killed = 0
        let all = descendants(of: harness)
        for pid in all {
            let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
            if (exe as NSString).lastPathComponent.hasPrefix("airlock-guest") {
                kill(pid, SIGKILL)
                killed += 1
            }
        }
        if killed > 0 { return killed }
        for pid in all {
            let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
            if (exe as NSString).lastPathComponent.hasPrefix("runsc") {
                kill(pid, SIGKILL)
                killed += 1
            }
        }
        return killed
    }
}

/// A client for inside every tier: HTTP through the egress proxy, over the loopback relay
/// (namespaced tiers) or straight to the proxy's Unix socket (landlock, which can make no
/// TCP socket). Python standard library only.
enum TierClient {
    static let script = #"""
import json, os, socket, ssl, sys

def proxy_socket():
    path = os.environ.get("AIRLOCK_EGRESS_SOCKET")
    if path:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(20)
        sock.connect(path)
        return sock
    return socket.create_connection(("127.0.0.1", 3128), timeout=20)

def read_response(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode("latin1"), body

url, headers = sys.argv[1], [os.path.expandvars(h) for h in sys.argv[2:]]
scheme, rest = url.split("://", 1)
authority, _, path = rest.partition("/")
lines = "".join(h + "\r\n" for h in headers)
sock = proxy_socket()
if scheme == "http":
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n" % (url, authority, lines)).encode())
else:
    sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (authority, authority)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    context = ssl.create_default_context(cafile=os.environ.get("SSL_CERT_FILE"))
    sock = context.wrap_socket(sock, server_hostname=authority.split(":")[0])
    sock.sendall(("GET /%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n" % (path, authority, lines)).encode())
status, body = read_response(sock)
print(json.dumps({"status": status, "body": body[:300].decode("latin1")}), flush=True)
"""#
}
