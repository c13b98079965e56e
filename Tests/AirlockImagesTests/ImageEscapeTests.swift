import AirlockProtocol
import AirlockSandbox
import AirlockBubblewrap
import AirlockTestSupport
import Foundation
import Glibc
import Testing
@testable import AirlockImages

/// The escape suite's attacks, from inside a sandbox on a busybox image (read-only and
/// copied roots): each one is really attempted, aims only at files and processes this
/// test created, and must fail.
@Suite(.serialized) struct ImageEscapeTests {
    static func start(_ prepared: ImageSandboxTests.Prepared, _ writable: ImageRoot.WritableRoot) async throws -> any Sandbox {
        try await BubblewrapBackend().start(ImageSandboxTests.configuration(prepared, writable: writable))
    }

    static func sh(_ sandbox: any Sandbox, _ script: String) async throws -> (Int32, String) {
        try await ImageSandboxTests.run(sandbox, script)
    }

    /// A host file only the test knows, which image symlinks aim at.
    static func hostMarker() throws -> String {
        let path = "/tmp/airlock-image-escape-marker-\(UUID().uuidString.prefix(8))"
        try "HOST-SECRET\n".write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        return path
    }

    @Test("attack: reach host files through symlinks shipped in the image")
    func symlinksInTheImageStayInside() async throws {
        let marker = try Self.hostMarker()
        defer { unlink(marker) }
        var links = TarBuilder()
        links.symlink("host-marker", to: marker)
        links.symlink("up", to: "../../../../../../../..")
        links.symlink("proc-root", to: "/proc/1/root")
        guard let prepared = try ImageSandboxTests.prepare(extra: links.archive) else { return }
        defer { prepared.cleanup() }
        for mode in [ImageRoot.WritableRoot.readOnly, .copy] {
            let sandbox = try await Self.start(prepared, mode)
            let (_, output) = try await Self.sh(sandbox, """
                cat /host-marker 2>&1; cat /up\(marker) 2>&1; cat /proc-root\(marker) 2>&1
                cat /up/proc/1/root\(marker) 2>&1; true
                """)
            await sandbox.kill()
            #expect(!output.contains("HOST-SECRET"), "\(mode): \(output)")
        }
    }

    @Test("attack: write to the shared image tree")
    func theSharedTreeCannotBeChanged() async throws {
        guard let prepared = try ImageSandboxTests.prepare() else { return }
        defer { prepared.cleanup() }
        let busybox = prepared.store.rootfs(prepared.image.digest) + "/bin/busybox"
        var before = stat()
        #expect(stat(busybox, &before) == 0)
        let readOnly = try await Self.start(prepared, .readOnly)
        let (code, _) = try await Self.sh(readOnly, "echo pwned > /bin/busybox || rm -f /bin/busybox || exit 3")
        await readOnly.kill()
        #expect(code != 0)
        for mode in [ImageRoot.WritableRoot.copy, .overlay] {
            let writable = try await Self.start(prepared, mode)
            let (removed, output) = try await Self.sh(writable, "/bin/busybox rm -rf /bin /usr && echo removed-inside; /bin/busybox mount -o remount,rw / 2>/dev/null && echo REMOUNTED; true")
            await writable.kill()
            #expect(output.contains("removed-inside") && !output.contains("REMOUNTED"), "\(mode): \(output) \(removed)")
        }
        var after = stat()
        #expect(stat(busybox, &after) == 0 && after.st_size == before.st_size && after.st_mtim.tv_sec == before.st_mtim.tv_sec)
        let fresh = try await Self.start(prepared, .overlay)
        let (alive, _) = try await Self.sh(fresh, "ls /bin/busybox")
        await fresh.kill()
        #expect(alive == 0)
    }

    @Test("attack: overwrite the guest and its loader")
    func theGuestBundleIsReadOnly() async throws {
        guard let prepared = try ImageSandboxTests.prepare() else { return }
        defer { prepared.cleanup() }
        let sandbox = try await Self.start(prepared, .copy)
        let (_, output) = try await Self.sh(sandbox, """
            for f in /.airlock/airlock-guest /.airlock/lib/*; do
              [ -e "$f" ] || continue  # a static guest brings no libraries (rm -f of nothing succeeds)
              echo "TRIED $f"
              (echo pwned > "$f") 2>/dev/null && echo "WROTE $f"
              rm -f "$f" 2>/dev/null && echo "REMOVED $f"
            done
            mount -o remount,rw /.airlock 2>/dev/null && echo REMOUNTED
            """)
        #expect(sandbox.isAlive)
        await sandbox.kill()
        #expect(output.contains("TRIED /.airlock/airlock-guest"), "\(output)")
        #expect(!output.contains("WROTE") && !output.contains("REMOVED") && !output.contains("REMOUNTED"), "\(output)")
    }

    @Test("attack: find the image store and the harness state dir")
    func theStoreIsNotInTheSandbox() async throws {
        guard let prepared = try ImageSandboxTests.prepare() else { return }
        defer { prepared.cleanup() }
        let sandbox = try await Self.start(prepared, .readOnly)
        let (_, output) = try await Self.sh(sandbox, """
            ls -d \(prepared.state) \(prepared.store.directory) 2>/dev/null && echo FOUND-STATE
            find / -xdev \\( -name names.json -o -name image.json -o -name owners.json \\) 2>/dev/null | head -3
            cat /proc/self/mountinfo | grep -c images/ ; true
            """)
        await sandbox.kill()
        #expect(!output.contains("FOUND-STATE") && !output.contains(".json"), "\(output)")
    }

    @Test("attack: mount, unshare and mknod from an image sandbox")
    func privilegedOperationsFail() async throws {
        guard let prepared = try ImageSandboxTests.prepare() else { return }
        defer { prepared.cleanup() }
        let sandbox = try await Self.start(prepared, .copy)
        let (_, output) = try await Self.sh(sandbox, """
            mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo MOUNTED
            unshare -U true 2>/dev/null && echo UNSHARED
            mknod /tmp/disk b 8 0 2>/dev/null && echo MKNOD
            id -u; cat /proc/self/status | grep CapEff
            """)
        await sandbox.kill()
        #expect(!output.contains("MOUNTED") && !output.contains("UNSHARED") && !output.contains("MKNOD"), "\(output)")
        #expect(output.contains("CapEff:\t0000000000000000"), "\(output)")
    }

    @Test("attack: see and signal a host process")
    func hostProcessesAreInvisible() async throws {
        guard let prepared = try ImageSandboxTests.prepare() else { return }
        defer { prepared.cleanup() }
        let tag = "airlock-image-victim-\(UUID().uuidString.prefix(8))"
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: "/bin/sh")
        victim.arguments = ["-c", "sleep 60; : \(tag)"]
        try victim.run()
        defer { victim.terminate(); victim.waitUntilExit() }
        let sandbox = try await Self.start(prepared, .copy)
        let (_, output) = try await Self.sh(sandbox, """
            cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' ' | grep -c '[a]\(tag.dropFirst())'
            kill -9 \(victim.processIdentifier) 2>/dev/null && echo KILLED; true
            """)
        await sandbox.kill()
        #expect(victim.isRunning, "the host process was killed from inside")
        #expect(!output.contains("KILLED") && output.hasPrefix("0"), "\(output)")
    }
}
