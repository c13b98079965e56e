import AirlockProtocol
import AirlockSandbox
import AirlockBubblewrap
import Foundation
import Glibc
import Testing
@testable import AirlockImages

/// A realistic image (Debian minbase + python3 + pip, built once per machine by
/// scripts/build-python-image.sh into /var/cache/airlock-test/python-image): `python3 -c`
/// and `pip install` of a wheel from the workspace work, and the install is gone in the
/// next sandbox and absent from the store.
@Suite(.serialized) struct PythonImageTests {
    static let layout = (ProcessInfo.processInfo.environment["AIRLOCK_TEST_CACHE"] ?? "/var/cache/airlock-test") + "/python-image"

    /// A pure-Python wheel written with the host's python3 (zipfile), into `directory`.
    static func writeWheel(into directory: String) throws -> String {
        let name = "airlockprobe-1.0-py3-none-any.whl"
        let script = """
        import zipfile, sys
        files = {
          "airlockprobe.py": "VALUE = 42\\n",
          "airlockprobe-1.0.dist-info/METADATA": "Metadata-Version: 2.1\\nName: airlockprobe\\nVersion: 1.0\\n",
          "airlockprobe-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: airlock-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
        }
        with zipfile.ZipFile(sys.argv[1], "w") as z:
            for path, text in files.items():
                z.writestr(path, text)
            z.writestr("airlockprobe-1.0.dist-info/RECORD", "".join(p + ",,\\n" for p in list(files) + ["airlockprobe-1.0.dist-info/RECORD"]))
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, directory + "/" + name]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw POSIXError(.EIO) }
        return name
    }

    @Test func pythonAndPipInsideAThrowawayRoot() async throws {
        guard access(Self.layout + "/index.json", R_OK) == 0 else {
            print("skipping: no python test image at \(Self.layout); build it once with scripts/build-python-image.sh")
            return
        }
        guard access("/usr/bin/python3", X_OK) == 0 else {
            print("skipping: the host's python3 (to write the test wheel) is missing")
            return
        }
        let state = NSTemporaryDirectory() + "airlock-pyimg-\(UUID().uuidString.prefix(8))"
        let workspace = NSTemporaryDirectory() + "airlock-pyws-\(UUID().uuidString.prefix(8))"
        defer { ImageStore.removeTree(state); ImageStore.removeTree(workspace) }
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        chmod(workspace, 0o755)
        let wheel = try Self.writeWheel(into: workspace)
        let store = ImageStore(stateDirectory: state)
        let image = try ImageImporter(store: store).importImage(.ociLayout(directory: Self.layout, tag: nil), name: "py")
        var configuration = SandboxConfiguration(workspace: workspace)
        configuration.root = .image(store.sandboxRoot(for: image, writable: .overlay))

        let first = try await BubblewrapBackend().start(configuration)
        let result = try await first.guest.exec(ExecRequest(shell: """
            python3 -c 'import sys; print("py", sys.version_info[0])'
            pip install --quiet --no-index --break-system-packages /workspace/\(wheel) 2>&1 | tail -3
            python3 -c 'import airlockprobe; print("value", airlockprobe.VALUE)'
            test -e /usr/bin/bwrap && echo LEAK-bwrap; test -e /usr/bin/swift && echo LEAK-swift; true
            """, timeoutMs: 120_000))
        let output = String(decoding: result.stdout + result.stderr, as: UTF8.self)
        await first.kill()
        #expect(output.contains("py 3"), "\(output)")
        #expect(output.contains("value 42"), "\(output)")
        #expect(!output.contains("LEAK"), "\(output)")

        let second = try await BubblewrapBackend().start(configuration)
        let again = try await second.guest.exec(ExecRequest(shell: "python3 -c 'import airlockprobe' 2>&1 || echo GONE"))
        await second.kill()
        #expect(String(decoding: again.stdout, as: UTF8.self).contains("GONE"))
        let installed = try FileManager.default.subpathsOfDirectory(atPath: store.rootfs(image.digest) + "/usr/local/lib")
            .filter { $0.contains("airlockprobe") }
        #expect(installed.isEmpty, "the install reached the store: \(installed)")
    }
}
