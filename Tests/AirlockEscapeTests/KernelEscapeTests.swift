import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockSandboxHost

/// Attacks on the kernel's privileged interfaces: each raw syscall must come back -1 with
/// EPERM (seccomp's answer, or the kernel's own for a process without capabilities).
@Suite("Escape: kernel interfaces", .enabled(if: hasPython, "needs python3 inside the sandbox for raw syscalls"))
struct KernelEscapeTests {
    /// Runs the syscall probe in a fresh sandbox and returns (ret, errno).
    static func attempt(_ call: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> (ret: Int, errno: Int) {
        let fixture = try SandboxFixture()
        defer { fixture.remove() }
        let sandbox = try await fixture.start()
        let (_, out, err) = try await sandbox.guest.python(Syscall.probe(call))
        let result = try #require(Syscall.result(out), "probe output: \(out) \(err)", sourceLocation: sourceLocation)
        try await fixture.expectHarnessAlive(sandbox, sourceLocation: sourceLocation)
        await sandbox.kill()
        return result
    }

    @Test("attack: mount a filesystem")
    func mountFilesystem() async throws {
        let tmpfs = try await Self.attempt(#"libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)"#)
        #expect(tmpfs.ret == -1 && tmpfs.errno == EPERM, "\(tmpfs)")
        let bind = try await Self.attempt(#"libc.mount(b"/workspace", b"/usr", None, 4096, None)"#)  // MS_BIND
        #expect(bind.ret == -1 && bind.errno == EPERM, "\(bind)")
        let remount = try await Self.attempt(#"libc.mount(None, b"/usr", None, 32 | 1, None)"#)  // MS_REMOUNT, rw
        #expect(remount.ret == -1 && remount.errno == EPERM, "\(remount)")
    }

    @Test("attack: unshare new namespaces")
    func unshareNamespaces() async throws {
        // CLONE_NEWUSER, then CLONE_NEWNS | CLONE_NEWNET (which need privilege in a user ns).
        let user = try await Self.attempt("libc.unshare(0x10000000)")
        #expect(user.ret == -1 && user.errno == EPERM, "\(user)")
        let mountNet = try await Self.attempt("libc.unshare(0x00020000 | 0x40000000)")
        #expect(mountNet.ret == -1 && mountNet.errno == EPERM, "\(mountNet)")
        // clone3 cannot slip past the clone flag filter: it is refused outright.
        let clone3 = try await Self.attempt("libc.syscall(435, 0, 0)")
        #expect(clone3.ret == -1 && (clone3.errno == ENOSYS || clone3.errno == EPERM), "\(clone3)")
    }

    @Test("attack: load a kernel module")
    func loadKernelModule() async throws {
        // init_module(image, len, params) and finit_module(fd, params, flags) on x86-64.
        let initModule = try await Self.attempt(#"libc.syscall(175, b"\x7fELF", 4, b"")"#)
        #expect(initModule.ret == -1 && initModule.errno == EPERM, "\(initModule)")
        let finit = try await Self.attempt(#"libc.syscall(313, os.open("/usr/bin/true", os.O_RDONLY), b"", 0)"#)
        #expect(finit.ret == -1 && finit.errno == EPERM, "\(finit)")
    }

    @Test("attack: io_uring_setup")
    func ioUringSetup() async throws {
        let ring = try await Self.attempt("libc.syscall(425, 4, ctypes.create_string_buffer(120))")
        #expect(ring.ret == -1 && ring.errno == EPERM, "\(ring)")
    }

    @Test("attack: bpf")
    func bpf() async throws {
        // BPF_MAP_CREATE and BPF_PROG_LOAD with zeroed attributes.
        let map = try await Self.attempt("libc.syscall(321, 0, ctypes.create_string_buffer(128), 128)")
        #expect(map.ret == -1 && map.errno == EPERM, "\(map)")
        let prog = try await Self.attempt("libc.syscall(321, 5, ctypes.create_string_buffer(128), 128)")
        #expect(prog.ret == -1 && prog.errno == EPERM, "\(prog)")
    }

    @Test("attack: ptrace, process_vm and perf from inside")
    func ptraceClass() async throws {
        let traceme = try await Self.attempt("libc.ptrace(0, 0, 0, 0)")
        #expect(traceme.ret == -1 && traceme.errno == EPERM, "\(traceme)")
        let vmRead = try await Self.attempt("libc.syscall(310, 1, 0, 0, 0, 0, 0)")
        #expect(vmRead.ret == -1 && vmRead.errno == EPERM, "\(vmRead)")
        let perf = try await Self.attempt("libc.syscall(298, ctypes.create_string_buffer(128), 0, -1, -1, 0)")
        #expect(perf.ret == -1 && perf.errno == EPERM, "\(perf)")
    }
}
