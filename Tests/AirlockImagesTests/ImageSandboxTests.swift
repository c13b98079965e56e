import AirlockProtocol
import AirlockSandbox
import AirlockBubblewrap
import AirlockTestSupport
import Foundation
import Glibc
import Testing
@testable import AirlockImages

/// Real bwrap sandboxes on a busybox image built from Debian's busybox-static: the
/// image is the whole userland, its Env/WorkingDir/User apply, and writes to / die with
/// the sandbox.
@Suite(.serialized) struct ImageSandboxTests {
    struct Prepared {
        var store: ImageStore
        var image: StoredImage
        var state: String
        var workspace: String
        var fixture: ImageFixture

        func cleanup() {
            ImageStore.removeTree(state)
            ImageStore.removeTree(workspace)
            fixture.remove()
        }
    }

    static func prepare(_ config: ImageFixture.Config = ImageFixture.Config(),
                        extra: [UInt8]? = nil) throws -> Prepared? {
        guard access("/bin/busybox", X_OK) == 0 else {
            print("skipping: /bin/busybox is missing (apt-get install busybox-static; scripts/setup.sh does it)")
            return nil
        }
        let fixture = try ImageFixture("sandbox")
        var layers = [try ImageFixture.busyboxLayer()]
        if let extra { layers.append(extra) }
        let layout = try fixture.writeLayout("busybox", layers: layers, config: config)
        let state = NSTemporaryDirectory() + "airlock-imgsbx-\(UUID().uuidString.prefix(8))"
        let workspace = NSTemporaryDirectory() + "airlock-imgws-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        let store = ImageStore(stateDirectory: state)
        let image = try ImageImporter(store: store).importImage(.ociLayout(directory: layout.path, tag: nil), name: "busybox")
        return Prepared(store: store, image: image, state: state, workspace: workspace, fixture: fixture)
    }

    static func run(_ sandbox: any Sandbox, _ shell: String) async throws -> (Int32, String) {
        let result = try await sandbox.guest.exec(ExecRequest(shell: shell))
        return (result.status.code ?? -1, String(decoding: result.stdout + result.stderr, as: UTF8.self))
    }

    static func configuration(_ prepared: Prepared, writable: ImageRoot.WritableRoot) -> SandboxConfiguration {
        var configuration = SandboxConfiguration(workspace: prepared.workspace)
        configuration.root = .image(prepared.store.sandboxRoot(for: prepared.image, writable: writable))
        return configuration
    }

    @Test func theImageIsTheWholeUserland() async throws {
        guard let prepared = try Self.prepare() else { return }
        defer { prepared.cleanup() }
        let sandbox = try await BubblewrapBackend().start(Self.configuration(prepared, writable: .readOnly))
        defer { Task { await sandbox.kill() } }
        let (code, output) = try await Self.run(sandbox, """
            cat /etc/os-release
            for path in /usr/lib/x86_64-linux-gnu/libc.so.6 /usr/bin/python3 /usr/bin/bwrap /lib64/ld-linux-x86-64.so.2 /usr/bin/swift; do
              test -e $path && echo "LEAK $path"
            done
            ls /usr/bin | wc -l
            echo hello > /workspace/out.txt
            """)
        #expect(code == 0, "\(output)")
        #expect(output.contains("airlock-test-busybox"))
        #expect(!output.contains("LEAK"), "\(output)")
        #expect(String(decoding: FileManager.default.contents(atPath: prepared.workspace + "/out.txt") ?? Data(), as: UTF8.self) == "hello\n")
        await sandbox.kill()
    }

    @Test func envWorkingDirAndUserApply() async throws {
        var extra = TarBuilder()
        extra.directory("srv/")
        extra.directory("srv/app/")
        let config = ImageFixture.Config(env: ["PATH=/bin:/usr/bin:/sbin", "IMAGE_ONLY=from-image", "CONFLICT=image"],
                                         workingDir: "/srv/app", user: "worker")
        guard let prepared = try Self.prepare(config, extra: extra.archive) else { return }
        defer { prepared.cleanup() }
        var configuration = Self.configuration(prepared, writable: .readOnly)
        configuration.environment["CONFLICT"] = "ours"
        let sandbox = try await BubblewrapBackend().start(configuration)
        defer { Task { await sandbox.kill() } }
        let (code, output) = try await Self.run(sandbox, "echo \"pwd=$(pwd) uid=$(id -u) gid=$(id -g) only=$IMAGE_ONLY conflict=$CONFLICT home=$HOME\"")
        #expect(code == 0, "\(output)")
        #expect(output.contains("pwd=/srv/app uid=4242 gid=4343 only=from-image conflict=ours home=/home/agent"), "\(output)")
        await sandbox.kill()
    }

    @Test(arguments: [ImageRoot.WritableRoot.overlay, .copy])
    func writesToTheRootAreThrownAway(_ mode: ImageRoot.WritableRoot) async throws {
        guard let prepared = try Self.prepare() else { return }
        defer { prepared.cleanup() }
        let first = try await BubblewrapBackend().start(Self.configuration(prepared, writable: mode))
        let (code, output) = try await Self.run(first, "echo installed > /usr/bin/pwned-marker && mkdir -p /opt/pkg && cat /usr/bin/pwned-marker && rm /bin/ls && id -u && (grep -c ' - overlay ' /proc/self/mountinfo || true)")
        #expect(code == 0, "\(mode): \(output)")
        // The overlay really is one (not the copy it falls back to), and the copy is not.
        #expect(output.hasSuffix(mode == .overlay ? "\n1\n" : "\n0\n"), "\(mode): \(output)")
        #expect(output.contains("installed"))
        await first.kill()
        #expect(access(prepared.store.rootfs(prepared.image.digest) + "/usr/bin/pwned-marker", F_OK) != 0)
        var info = stat()
        #expect(lstat(prepared.store.rootfs(prepared.image.digest) + "/bin/ls", &info) == 0, "a delete reached the store")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: prepared.store.rootsDirectory)) ?? ["?"]).isEmpty,
                "the per-sandbox root must be gone")
        let second = try await BubblewrapBackend().start(Self.configuration(prepared, writable: mode))
        let (again, text) = try await Self.run(second, "test -e /usr/bin/pwned-marker && echo STILL-THERE; test -d /opt/pkg && echo DIR-THERE; test -e /bin/ls || echo LS-GONE; echo done")
        #expect(again == 0 && text.contains("done") && !text.contains("THERE") && !text.contains("GONE"), "\(text)")
        await second.kill()
    }

    @Test func aReadOnlyRootRefusesWrites() async throws {
        guard let prepared = try Self.prepare() else { return }
        defer { prepared.cleanup() }
        // Read-only: the same write fails.
        let readOnly = try await BubblewrapBackend().start(Self.configuration(prepared, writable: .readOnly))
        let (denied, _) = try await Self.run(readOnly, "echo x > /usr/bin/pwned-marker")
        #expect(denied != 0)
        await readOnly.kill()
    }
}
