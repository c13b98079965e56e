import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Synchronization
import Testing
@testable import AirlockSandboxHost

/// Attacks through the file tools (`read_file`, `write_file`, `edit_file`, `list_files`,
/// `stat`): symlinks, hard links and `..` aimed at files outside /workspace that the test
/// made itself, inside the sandbox (its /tmp) and on the host.
@Suite("Escape: file tools")
struct FileToolEscapeTests {
    static let outsideSecret = "OUTSIDE-SECRET-" + UUID().uuidString

    /// Prepares a sandbox with /tmp/outside-secret (outside the workspace, inside the
    /// sandbox) and a host file outside the workspace, both holding the secret.
    static func scene() async throws -> (SandboxFixture, any Sandbox, hostFile: String) {
        let fixture = try SandboxFixture()
        let hostFile = "/tmp/airlock-escape-target-" + UUID().uuidString.prefix(8)
        try Data(outsideSecret.utf8).write(to: URL(fileURLWithPath: hostFile))
        chmod(hostFile, 0o644)
        let sandbox = try await fixture.start()
        let (status, _, _) = try await sandbox.guest.sh("""
            printf '%s' '\(outsideSecret)' > /tmp/outside-secret && mkdir -p /tmp/outdir && \
            printf '%s' '\(outsideSecret)' > /tmp/outdir/secret && echo inside > /workspace/real.txt
            """)
        #expect(status.code == 0)
        return (fixture, sandbox, hostFile)
    }

    /// Every answer must be an error; and none may carry the secret.
    static func expectRefused(_ response: Response, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        if case .file(let file) = response {
            #expect(!String(decoding: file.content, as: UTF8.self).contains(outsideSecret),
                    "\(what) returned the outside file", sourceLocation: sourceLocation)
        }
        guard case .error = response else {
            Issue.record("\(what) was not refused: \(response)", sourceLocation: sourceLocation)
            return
        }
    }

    @Test("attack: '..' and absolute paths through the file tools")
    func dotDotPaths() async throws {
        let (fixture, sandbox, hostFile) = try await Self.scene()
        defer { fixture.remove(); unlink(hostFile) }
        for path in ["../tmp/outside-secret", "/tmp/outside-secret", "/workspace/../tmp/outside-secret",
                     "a/../../tmp/outside-secret", "./../tmp/outside-secret", "..", "../", hostFile,
                     "/workspace/../../\(hostFile)", "/proc/1/root/tmp/outside-secret", "/proc/self/cwd/../tmp/outside-secret"] {
            Self.expectRefused(try await sandbox.guest.call(.readFile(PathRequest(path: path))), "read_file \(path)")
            Self.expectRefused(try await sandbox.guest.call(.writeFile(WriteFileRequest(path: path, content: Data("pwned".utf8)))),
                               "write_file \(path)")
            Self.expectRefused(try await sandbox.guest.call(.listFiles(PathRequest(path: path))), "list_files \(path)")
        }
        let (_, still, _) = try await sandbox.guest.sh("cat /tmp/outside-secret")
        #expect(still == Self.outsideSecret, "an outside file was overwritten")
        #expect(FileManager.default.contents(atPath: hostFile) == Data(Self.outsideSecret.utf8))
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: symlinks out of the workspace through the file tools")
    func symlinksOut() async throws {
        let (fixture, sandbox, hostFile) = try await Self.scene()
        defer { fixture.remove(); unlink(hostFile) }
        // Made inside the sandbox, and one made on the host pointing at the host file.
        let (status, _, _) = try await sandbox.guest.sh("""
            cd /workspace && ln -s /tmp/outside-secret abs && ln -s ../tmp/outside-secret rel && \
            ln -s /tmp/outdir dirlink && ln -s /tmp outtmp && ln -s loop2 loop1 && ln -s loop1 loop2 && \
            mkdir -p sub && ln -s ../../tmp/outside-secret sub/deep && ln -s /proc/1/root/tmp/outside-secret viaproc
            """)
        #expect(status.code == 0)
        symlink(hostFile, fixture.workspace + "/hostlink")
        for path in ["abs", "rel", "dirlink/secret", "outtmp/outside-secret", "loop1", "sub/deep", "viaproc", "hostlink"] {
            Self.expectRefused(try await sandbox.guest.call(.readFile(PathRequest(path: path))), "read_file \(path)")
            Self.expectRefused(try await sandbox.guest.call(.editFile(EditFileRequest(path: path, old: "OUTSIDE", new: "PWNED"))),
                               "edit_file \(path)")
        }
        Self.expectRefused(try await sandbox.guest.call(.listFiles(PathRequest(path: "dirlink"))), "list_files dirlink")
        Self.expectRefused(try await sandbox.guest.call(.writeFile(WriteFileRequest(path: "dirlink/new", content: Data("x".utf8)))),
                           "write_file dirlink/new")
        // A write to a symlink replaces the link in the workspace; its target is untouched.
        let replaced = try await sandbox.guest.call(.writeFile(WriteFileRequest(path: "abs", content: Data("mine".utf8))))
        #expect(replaced == .ok)
        let (_, after, _) = try await sandbox.guest.sh("cat /tmp/outside-secret; ls /tmp/outdir; cat /workspace/abs; test -L /workspace/abs || echo not-a-link")
        #expect(after == Self.outsideSecret + "secret\nmine" + "not-a-link\n", "\(after)")
        #expect(FileManager.default.contents(atPath: hostFile) == Data(Self.outsideSecret.utf8))
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: hard links to files outside the workspace")
    func hardLinks() async throws {
        let (fixture, sandbox, hostFile) = try await Self.scene()
        defer { fixture.remove(); unlink(hostFile) }
        // Every target outside the workspace is on another mount: link(2) refuses (EXDEV).
        let (_, out, _) = try await sandbox.guest.sh("""
            cd /workspace; for t in /tmp/outside-secret /etc/passwd /.airlock/airlock-guest /usr/bin/true; do \
            ln "$t" "hard-$(basename $t)" 2>/dev/null && echo LINKED "$t"; done; true
            """)
        #expect(!out.contains("LINKED"), "\(out)")
        for name in ["hard-outside-secret", "hard-passwd", "hard-airlock-guest", "hard-true"] {
            let response = try await sandbox.guest.call(.readFile(PathRequest(path: name)))
            if case .file(let file) = response {
                #expect(!String(decoding: file.content, as: UTF8.self).contains(Self.outsideSecret))
                Issue.record("a hard link \(name) to an outside file exists")
            }
        }
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }

    @Test("attack: a symlink swapped in between check and use",
          .enabled(if: hasPython, "needs python3 inside the sandbox for a fast flipping loop"))
    func symlinkSwapRace() async throws {
        let (fixture, sandbox, hostFile) = try await Self.scene()
        defer { fixture.remove(); unlink(hostFile) }
        // Two links flip as fast as python can rename: a file link (link) between a
        // workspace file and /tmp/outside-secret, and a directory link (dir) between a
        // workspace directory and /tmp/outdir. Bounded by count and by the exec timeout.
        let flipper = """
        import os
        os.chdir('/workspace')
        os.makedirs('indir', exist_ok=True)
        open('indir/secret', 'w').write('inside')
        flips = 0
        while flips < 2000000 and not os.path.exists('stop'):
            for target, name in (('real.txt', 'link'), ('/tmp/outside-secret', 'link'), ('indir', 'dir'), ('/tmp/outdir', 'dir')):
                os.symlink(target, name + '.tmp')
                os.replace(name + '.tmp', name)
            flips += 1
        print(flips)
        """
        let written = try await sandbox.guest.call(.writeFile(WriteFileRequest(path: "flip.py", content: Data(flipper.utf8))))
        #expect(written == .ok)
        let guest = sandbox.guest
        let flipping = Task { try await guest.exec(ExecRequest(argv: ["python3", "/workspace/flip.py"], timeoutMs: 120_000)) }
        // Wait for the loop to be running.
        for _ in 0..<100 {
            if case .stat = try await guest.call(.stat(PathRequest(path: "dir"))) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        var answered = 0, refused = 0, other = 0
        for round in 0..<800 {
            let path = round.isMultiple(of: 2) ? "link" : "dir/secret"
            let response = try await guest.call(.readFile(PathRequest(path: path)))
            switch response {
            case .file(let file):
                let text = String(decoding: file.content, as: UTF8.self)
                #expect(!text.contains(Self.outsideSecret), "read_file \(path) returned the outside file in round \(round)")
                if text == "inside\n" || text == "inside" { answered += 1 } else { other += 1 }
            case .error(let error):
                if error.code == "path_escape" { refused += 1 } else { other += 1 }
            default:
                other += 1
            }
        }
        _ = try await guest.call(.writeFile(WriteFileRequest(path: "stop", content: Data())))
        let flips = try await flipping.value
        #expect(flips.status.code == 0, "the flipper failed: \(String(decoding: flips.stderr, as: UTF8.self))")
        // Both sides of the race were really hit.
        #expect(answered > 0 && refused > 0, "answered \(answered), refused \(refused), other \(other)")
        try await fixture.expectHarnessAlive(sandbox)
        await sandbox.kill()
    }
}
