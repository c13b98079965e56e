import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// `airlock` inside a simulated container: a seccomp filter like Docker's default profile
/// (unshare, setns, mount and clone with CLONE_NEWUSER refused, clone3 reported missing)
/// and no CAP_SYS_ADMIN in the bounding set. bwrap cannot start there; landlock can, and
/// `auto` falls back to it.
@Suite("tiers: inside a container that refuses user namespaces",
       .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .enabled(if: ContainerSim.ready, "needs /usr/bin/python3, libseccomp.so.2 and setpriv to build the simulated container"),
       .timeLimit(.minutes(2)))
struct ContainerSimTests {
    @Test("bwrap fails with a clear message naming the fix")
    func bwrapFails() async throws {
        let scene = try RunScene.make()
        defer { scene.remove() }
        let outcome = try await ContainerSim.airlock(["exec", "--sandbox", "bwrap", "--workspace", scene.workspace, "--", "/bin/true"])
        #expect(outcome.status == 125, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("namespace") || outcome.stderr.contains("Operation not permitted"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("fix:"), "the error names a fix: \(outcome.stderr)")
    }

    @Test("the namespace probe itself is refused in the simulated container (the simulation is real)")
    func simulationRefusesUserNamespaces() async throws {
        let result = try ContainerSim.run(["/usr/bin/unshare", "--user", "/bin/true"])
        #expect(result.status != 0, "unshare --user succeeded inside the simulation: \(result.output)")
    }

    @Test("auto falls back to landlock, says so, and the command runs contained")
    func autoFallsBack() async throws {
        guard let landlock = TierUnderTest.all.first(where: { $0.sandbox == "landlock" }), landlock.present() else { return }
        let scene = try RunScene.make()
        defer { scene.remove() }
        let outside = scene.root + "/outside.txt"
        try Data("untouched\n".utf8).write(to: URL(fileURLWithPath: outside))
        chmod(outside, 0o666)
        chmod(scene.root, 0o777)
        let script = "echo inside > made.txt; if echo pwned > \(outside) 2>/dev/null; then echo wrote; else echo refused; fi"
        let outcome = try await ContainerSim.airlock(["exec", "--workspace", scene.workspace, "--json", "--", "/bin/sh", "-c", script])
        #expect(outcome.status == 0, "stdout: \(outcome.stdout) stderr: \(outcome.stderr)")
        #expect(outcome.stderr.contains("skipped tier bwrap"), "auto says why bwrap was skipped: \(outcome.stderr)")
        #expect(outcome.stderr.contains("\"backend\":\"landlock\""), "auto chose landlock: \(outcome.stderr)")
        #expect(scene.file("made.txt") == "inside\n", "the workspace is writable")
        #expect(try String(contentsOfFile: outside, encoding: .utf8) == "untouched\n", "a host file outside stayed untouched")
        #expect(outcome.stdout == "refused\n", "the sandbox saw the write fail: \(outcome.stdout)")
    }
}

/// Starts programs under the simulated container's restrictions.
enum ContainerSim {
    static let python = "/usr/bin/python3"
    static let ready = FileManager.default.isExecutableFile(atPath: python)
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
        && (dlopen("libseccomp.so.2", RTLD_NOW) != nil)

    /// Installs the filter, then execs argv[1:]. CAP_SYS_ADMIN is gone from the bounding
    /// set already (setpriv), so nothing after the exec has it.
    static let filter = #"""
import ctypes, os, sys
lib = ctypes.CDLL("libseccomp.so.2")
lib.seccomp_init.restype = ctypes.c_void_p
lib.seccomp_init.argtypes = [ctypes.c_uint32]
lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p]
lib.seccomp_load.argtypes = [ctypes.c_void_p]
class Cmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("a", ctypes.c_uint64), ("b", ctypes.c_uint64)]
def errno(e):
    return 0x00050000 | e
def nr(name):
    return lib.seccomp_syscall_resolve_name(name.encode())
ctx = lib.seccomp_init(0x7fff0000)
for name in ("unshare", "setns", "mount", "umount2", "pivot_root"):
    assert lib.seccomp_rule_add_array(ctx, errno(1), nr(name), 0, None) == 0
newuser = Cmp(0, 7, 0x10000000, 0x10000000)
assert lib.seccomp_rule_add_array(ctx, errno(1), nr("clone"), 1, ctypes.byref(newuser)) == 0
assert lib.seccomp_rule_add_array(ctx, errno(38), nr("clone3"), 0, None) == 0
assert lib.seccomp_load(ctx) == 0
os.execv(sys.argv[1], sys.argv[1:])
"""#

    static var prefix: [String] {
        ["/usr/bin/setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin", "--", python, "-c", filter]
    }

    /// `airlock ARGS` inside the simulation.
    static func airlock(_ arguments: [String]) async throws -> RunBinary.Outcome {
        let binary = try #require(RunBinary.path)
        let result = try run([binary] + arguments)
        return RunBinary.Outcome(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    static func run(_ argv: [String]) throws -> (status: Int32, stdout: String, stderr: String, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: prefix[0])
        process.arguments = Array(prefix.dropFirst()) + argv
        var environment = ProcessInfo.processInfo.environment
        for name in AirlockProcess.clearedVariables { environment[name] = nil }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stdout, stderr, stdout + stderr)
    }
}
