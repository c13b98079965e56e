import AirlockProtocol
import AirlockSandbox
import AirlockTestSupport
import Foundation
import Glibc
import Testing
@testable import AirlockImages

/// The image-root columns of the escape matrix: the same tiers with the busybox test image
/// as the whole userland instead of the host's /usr.
enum ImageColumn: String, CaseIterable, Sendable, CustomTestStringConvertible {
    /// bwrap with a writable (per-sandbox copy) image root: the most the image gets.
    case bwrap = "bwrap+image(copy)"
    /// crun shows image roots read-only (the only form the oci tiers take).
    case crun = "oci/crun+image(read-only)"

    var testDescription: String { rawValue }
    var tier: MatrixTier { self == .bwrap ? .bwrap : .crun }
    var writable: ImageRoot.WritableRoot { self == .bwrap ? .copy : .readOnly }
}

/// The busybox image has no python, no UDP or Unix-socket client and no way to make a raw
/// syscall, so the attacks that need one run `/bin/airlock-probe`: a static C program the
/// test compiles and adds to the image as a second layer. Each mode prints `ret errno`.
enum ImageProbe {
    static let source = #"""
    #include <errno.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    #include <arpa/inet.h>
    #include <sys/mount.h>
    #include <sys/ptrace.h>
    #include <sys/socket.h>
    #include <sys/syscall.h>
    #include <sys/un.h>
    #include <stddef.h>
    #include <unistd.h>

    static int unix_connect(const char *name, int abstract) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0) return -1;
        struct sockaddr_un a; memset(&a, 0, sizeof a); a.sun_family = AF_UNIX;
        strncpy(a.sun_path + (abstract ? 1 : 0), name, sizeof a.sun_path - 2);
        socklen_t len = abstract ? (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name)) : sizeof a;
        return connect(fd, (struct sockaddr *)&a, len);
    }

    int main(int argc, char **argv) {
        if (argc < 2) return 2;
        const char *m = argv[1];
        const char *arg = argc > 2 ? argv[2] : "";
        long r = -1;
        errno = 0;
        if (!strcmp(m, "udp")) {
            int fd = socket(AF_INET, SOCK_DGRAM, 0);
            struct sockaddr_in a; memset(&a, 0, sizeof a); a.sin_family = AF_INET;
            a.sin_port = htons((unsigned short)atoi(arg)); a.sin_addr.s_addr = inet_addr("127.0.0.1");
            r = fd < 0 ? -1 : sendto(fd, "x", 1, 0, (struct sockaddr *)&a, sizeof a);
        } else if (!strcmp(m, "unix")) r = unix_connect(arg, 0);
        else if (!strcmp(m, "abstract")) r = unix_connect(arg, 1);
        else if (!strcmp(m, "ptrace")) r = ptrace(PTRACE_ATTACH, atoi(arg), 0, 0);
        else if (!strcmp(m, "unshare-user")) r = syscall(SYS_unshare, 0x10000000);
        else if (!strcmp(m, "mount-tmpfs")) r = mount("none", ".", "tmpfs", 0, NULL);
        else if (!strcmp(m, "io_uring")) { char p[120] = {0}; r = syscall(425, 1, p); }
        else if (!strcmp(m, "add_key")) r = syscall(SYS_add_key, "user", "airlock", "x", 1, -3);
        else if (!strcmp(m, "bpf")) {
            unsigned char attr[128] = {2,0,0,0, 4,0,0,0, 4,0,0,0, 1,0,0,0};
            r = syscall(SYS_bpf, 0, attr, sizeof attr);
        } else return 2;
        printf("%ld %d\n", r, errno);
        return 0;
    }
    """#

    /// The probe compiled once per test process (static, so the busybox image needs nothing).
    static let binary: Result<[UInt8], ProbeBuildError> = build()

    struct ProbeBuildError: Error, CustomStringConvertible {
        let description: String
    }

    private static func build() -> Result<[UInt8], ProbeBuildError> {
        let directory = NSTemporaryDirectory() + "airlock-probe-" + UUID().uuidString.prefix(8)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(source.utf8).write(to: URL(fileURLWithPath: directory + "/probe.c"))
            let cc = Process()
            cc.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
            cc.arguments = ["-static", "-O1", "-o", directory + "/probe", directory + "/probe.c"]
            let errors = Pipe()
            cc.standardError = errors
            try cc.run()
            let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            cc.waitUntilExit()
            guard cc.terminationStatus == 0, let bytes = FileManager.default.contents(atPath: directory + "/probe") else {
                return .failure(ProbeBuildError(description: "cc -static failed: \(message)"))
            }
            return .success([UInt8](bytes))
        } catch {
            return .failure(ProbeBuildError(description: "cannot run /usr/bin/cc (gcc and libc6-dev; scripts/setup.sh installs them): \(error)"))
        }
    }
}

/// The busybox image (plus the probe layer) imported into a private store for one test.
struct ImageScene {
    let store: ImageStore
    let image: StoredImage
    let state: String
    let fixture: ImageFixture

    init() throws {
        let probe = try ImageProbe.binary.get()
        fixture = try ImageFixture("matrix")
        var tools = TarBuilder()
        tools.file("bin/airlock-probe", data: probe, mode: 0o755)
        let layout = try fixture.writeLayout("busybox", layers: [try ImageFixture.busyboxLayer(), tools.archive])
        state = NSTemporaryDirectory() + "airlock-matrix-store-" + UUID().uuidString.prefix(8)
        store = ImageStore(stateDirectory: state)
        image = try ImageImporter(store: store).importImage(.ociLayout(directory: layout.path, tag: nil), name: "busybox")
    }

    func root(_ writable: ImageRoot.WritableRoot) -> SandboxRoot {
        .image(store.sandboxRoot(for: image, writable: writable))
    }

    func remove() {
        ImageStore.removeTree(state)
        fixture.remove()
    }
}

extension AttackScene {
    /// Runs a busybox shell script in the sandbox's workspace; stdout and stderr.
    func shell(_ script: String) async throws -> String {
        let result = try await sandbox.guest.exec(ExecRequest(shell: script, timeoutMs: 30_000))
        return String(decoding: result.stdout + result.stderr, as: UTF8.self)
    }

    /// `/bin/airlock-probe MODE ARG`: true when the call succeeded.
    func probeSucceeds(_ mode: String, _ argument: String = "") async throws -> Bool {
        let out = try await shell("/bin/airlock-probe \(mode) '\(argument)'")
        return (Syscall.result(out)?.ret ?? -1) >= 0
    }
}
