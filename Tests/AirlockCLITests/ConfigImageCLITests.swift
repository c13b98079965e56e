import AirlockTestSupport
import Foundation
import Glibc
import Testing

/// `sandbox:`, `image:` and `image_root:` in airlock.yaml, end to end with the real binary:
/// the run uses them, `config show` names where they came from, a flag still wins, and the
/// two values that widen (`sandbox: landlock`, `image: dir:…`) need trust.
@Suite("airlock config: sandbox and image", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct ConfigImageCLITests {
    @Test("a project file's sandbox and image (a path relative to the file) are what the run uses")
    func projectSandboxAndImage() async throws {
        guard access("/bin/busybox", X_OK) == 0 else {
            print("SKIP: /bin/busybox is missing (busybox-static; scripts/setup.sh installs it)")
            return
        }
        let config = try ConfigCLITests.ConfigScene()
        defer { config.scene.remove() }
        let fixture = try ImageFixture("config")
        defer { fixture.remove() }
        let layout = try fixture.writeLayout("busybox", layers: [try ImageFixture.busyboxLayer()])
        try FileManager.default.moveItem(atPath: layout.path, toPath: config.scene.root + "/img")
        let model = try config.scene.script([RunScene.shell("cat /etc/os-release > os.txt; test -e /usr/bin/python3 && echo host >> os.txt; true"),
                                             RunScene.submit()])
        // The layout sits beside the workspace: `../img` from airlock.yaml in the workspace.
        try config.project("model: \(model)\nsandbox: bwrap\nimage: oci:../img\nimage_root: copy\n")

        let outcome = try await config.run([])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        let os = String(decoding: FileManager.default.contents(atPath: config.scene.workspace + "/os.txt") ?? Data(), as: UTF8.self)
        #expect(os.contains("airlock-test-busybox"), "the image is the root: \(os)")
        #expect(!os.contains("host"), "the host's /usr is not there: \(os)")
        let text = try await Self.recordedSandbox(config)
        #expect(text.contains("\"backend\":\"bwrap\""), "run_started: \(text)")
        #expect(text.contains(layout.digest), "run_started names the image: \(text)")
        #expect(text.contains("\"writable\":\"copy\""), "run_started: \(text)")

        let show = try await config.airlock(["config", "show", "--workspace", config.scene.workspace, "--json"])
        #expect(show.status == 0, "stderr: \(show.stderr)")
        let object = try #require(show.objects.first ?? nil)
        for (key, value, line) in [("sandbox", "bwrap", 2), ("image", "oci:" + config.scene.root + "/img", 3), ("image_root", "copy", 4)] {
            let row = try #require(object[key] as? [String: Any], "config show has no \(key)")
            #expect(row["value"] as? String == value, "\(key): \(row)")
            #expect((row["source"] as? String)?.hasSuffix("airlock.yaml:\(line)") == true, "\(key): \(row)")
        }

        // A flag beats the file: --image-root read-only is what run_started records.
        let flagged = try await config.run(["--image-root", "read-only"])
        #expect(flagged.status == 0, "stderr: \(flagged.stderr)")
        let flaggedText = try await Self.recordedSandbox(config)
        #expect(flaggedText.contains("\"writable\":\"read-only\""), "run_started: \(flaggedText)")
    }

    /// The latest run's `run_started` sandbox settings, as recorded in the ledger.
    static func recordedSandbox(_ config: ConfigCLITests.ConfigScene) async throws -> String {
        let show = try await config.scene.command(["show", "latest", "--json"])
        #expect(show.status == 0, "stderr: \(show.stderr)")
        let record = try #require(show.objects.first ?? nil, "show --json: \(show.stdout)")
        let ledger = try #require(record["ledger"] as? [[String: Any]])
        let started = try #require(ledger.first { $0["kind"] as? String == "run_started" })
        let sandbox = try #require((started["payload"] as? [String: Any])?["sandbox"])
        return String(decoding: try JSONSerialization.data(withJSONObject: sandbox, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("sandbox: landlock and image: dir:PATH in a project file need trust; other values do not")
    func wideningValuesNeedTrust() async throws {
        let config = try ConfigCLITests.ConfigScene()
        defer { config.scene.remove() }
        for (text, widens) in [("sandbox: landlock\n", true), ("image: dir:/\n", true),
                               ("sandbox: gvisor\n", false), ("image: oci:../img\nimage_root: read-only\n", false)] {
            try config.project(text)
            let show = try await config.airlock(["config", "show", "--workspace", config.scene.workspace])
            if widens {
                #expect(show.status == 2, "\(text): \(show.stdout)")
                #expect(show.stderr.contains("widens what the run may do"), "\(text): \(show.stderr)")
            } else {
                #expect(show.status == 0, "\(text): \(show.stderr)")
            }
        }
        try config.project("sandbox: landlock\n")
        let trusted = try await config.airlock(["config", "show", "--workspace", config.scene.workspace, "--trust-config"])
        #expect(trusted.status == 0, "stderr: \(trusted.stderr)")
        #expect(trusted.stdout.contains("landlock"))
    }
}
