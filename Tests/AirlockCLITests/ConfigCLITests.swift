import AirlockTestSupport
import Foundation
import Testing

/// `airlock.yaml` end to end with the real binary: precedence between flags, the project
/// file and the user file; bad values; an untrusted file that widens access; `config show`.
@Suite("airlock config", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(1)))
struct ConfigCLITests {
    /// A scene whose user config directory is its own (never the developer's).
    struct ConfigScene {
        let scene: RunScene
        var configHome: String { scene.root + "/xdg" }
        var environment: [String: String] { ["XDG_CONFIG_HOME": configHome] }

        init() throws {
            scene = try RunScene()
            try FileManager.default.createDirectory(atPath: configHome + "/airlock", withIntermediateDirectories: true)
        }

        func project(_ text: String) throws {
            try text.write(toFile: scene.workspace + "/airlock.yaml", atomically: true, encoding: .utf8)
        }

        func user(_ text: String) throws {
            try text.write(toFile: configHome + "/airlock/config.yaml", atomically: true, encoding: .utf8)
        }

        func run(_ options: [String]) async throws -> RunBinary.Outcome {
            try await scene.run(options, environment: environment)
        }

        func airlock(_ arguments: [String]) async throws -> RunBinary.Outcome {
            try await RunBinary.run(arguments, environment: environment)
        }
    }

    @Test("flag > project > user: max_steps from each layer decides whether a two-step script finishes")
    func precedence() async throws {
        let config = try ConfigScene()
        defer { config.scene.remove() }
        let model = try config.scene.script([RunScene.shell("true"), RunScene.submit()])
        try config.user("model: \(model)\nmax_steps: 1\n")
        // User file alone: one step, so the budget ends the run (exit 3).
        let userOnly = try await config.run([])
        #expect(userOnly.status == 3, "stderr: \(userOnly.stderr)")
        // The project file raises it: the run finishes.
        try config.project("max_steps: 5\n")
        let withProject = try await config.run([])
        #expect(withProject.status == 0, "stderr: \(withProject.stderr)")
        // A flag beats both.
        let withFlag = try await config.run(["--max-steps", "1"])
        #expect(withFlag.status == 3, "stderr: \(withFlag.stderr)")

        let show = try await config.airlock(["config", "show", "--workspace", config.scene.workspace, "--json"])
        #expect(show.status == 0, "stderr: \(show.stderr)")
        let object = try #require(show.objects.first ?? nil)
        let steps = try #require(object["max_steps"] as? [String: Any])
        #expect(steps["value"] as? Int == 5)
        #expect((steps["source"] as? String)?.hasPrefix("project ") == true && (steps["source"] as? String)?.hasSuffix("airlock.yaml:1") == true)
        let modelRow = try #require(object["model"] as? [String: Any])
        #expect((modelRow["source"] as? String)?.hasPrefix("user ") == true)
        #expect((object["max_format_errors"] as? [String: Any])?["source"] as? String == "default")
    }

    @Test("a bad value stops the run with exit 2, naming the file, line and key")
    func badValue() async throws {
        let config = try ConfigScene()
        defer { config.scene.remove() }
        let model = try config.scene.script([RunScene.submit()])
        try config.project("model: \(model)\ntimeout: soon\n")
        let outcome = try await config.run([])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("airlock.yaml:2: timeout: 'soon' is not a duration"), "stderr: \(outcome.stderr)")
        try config.project("model: \(model)\nmax_steps: lots\n")
        let typed = try await config.run([])
        #expect(typed.status == 2)
        #expect(typed.stderr.contains("airlock.yaml:2: max_steps: expected an integer, got a string"), "stderr: \(typed.stderr)")
    }

    @Test("an untrusted project file that widens access is refused until trusted; an edit revokes the trust")
    func untrustedWidening() async throws {
        let config = try ConfigScene()
        defer { config.scene.remove() }
        let model = try config.scene.script([RunScene.shell("cat /workspace/marker 2>/dev/null; echo ran > ran.txt"), RunScene.submit()])
        // base_url + api_key_env could send the user's key anywhere: widening.
        try config.project("model: \(model)\nbase_url: http://127.0.0.1:9/v1\napi_key_env: HOME\n")
        let refused = try await config.run([])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("widens what the run may do"), "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("airlock config trust"), "stderr: \(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: config.scene.workspace + "/ran.txt"), "nothing ran")

        let trust = try await config.airlock(["config", "trust", config.scene.workspace + "/airlock.yaml"])
        #expect(trust.status == 0, "stderr: \(trust.stderr)")
        #expect(trust.stdout.contains("base_url (line 2)"), "\(trust.stdout)")
        let show = try await config.airlock(["config", "show", "--workspace", config.scene.workspace])
        #expect(show.status == 0, "trusted now: \(show.stderr)")
        #expect(show.stdout.contains("http://127.0.0.1:9/v1"))

        try config.project("model: \(model)\nbase_url: http://127.0.0.1:9/v1\napi_key_env: PATH\n")
        let edited = try await config.airlock(["config", "show", "--workspace", config.scene.workspace])
        #expect(edited.status == 2, "an edited file is untrusted: \(edited.stdout)")
        let flagged = try await config.airlock(["config", "show", "--workspace", config.scene.workspace, "--trust-config"])
        #expect(flagged.status == 0, "stderr: \(flagged.stderr)")
    }

    @Test("the kubernetes tier from config files: a project file choosing it is refused untrusted; the user file's kubeconfig (relative to it) and context reach the backend")
    func kubernetesKeys() async throws {
        let config = try ConfigScene()
        defer { config.scene.remove() }
        let model = try config.scene.script([RunScene.shell("echo ran > ran.txt"), RunScene.submit()])
        // A project sending the workspace to a cluster of its choosing widens.
        try config.project("model: \(model)\nsandbox: kubernetes\nnamespace: theirs\n")
        let refused = try await config.run([])
        #expect(refused.status == 2 && refused.stderr.contains("widens what the run may do"), "stderr: \(refused.stderr)")
        #expect(refused.stderr.contains("sandbox") && refused.stderr.contains("namespace"), "both keys named: \(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: config.scene.workspace + "/ran.txt"), "nothing ran")

        // The user's own file is trusted: its kubeconfig (relative to the file) and context
        // are what the backend reads, so this context's absence is the error.
        try config.project("model: \(model)\n")
        try """
            apiVersion: v1
            kind: Config
            current-context: here
            contexts: [{name: here, context: {cluster: c, user: u, namespace: ns}}]
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
            users: [{name: u, user: {token: t}}]
            """.write(toFile: config.configHome + "/airlock/kube.yaml", atomically: true, encoding: .utf8)
        try config.user("sandbox: kubernetes\nkubeconfig: kube.yaml\nkube_context: elsewhere\nimage: docker.io/library/busybox:1\n")
        let missing = try await config.run([])
        #expect(missing.status == 2 || missing.status == 5, "\(missing.stderr)")
        #expect(missing.stderr.contains("no context elsewhere"), "the user file's kube_context reached the backend: \(missing.stderr)")
        let shown = try await config.airlock(["config", "show", "--workspace", config.scene.workspace])
        #expect(shown.stdout.contains("kube_context") && shown.stdout.contains("elsewhere"), "\(shown.stdout)")
        #expect(!FileManager.default.fileExists(atPath: config.scene.workspace + "/ran.txt"), "nothing ran")
    }

    @Test("--config FILE names the project file; a missing one is an error")
    func explicitFile() async throws {
        let config = try ConfigScene()
        defer { config.scene.remove() }
        let model = try config.scene.script([RunScene.shell("echo from-config > out.txt"), RunScene.submit()])
        let file = config.scene.root + "/custom.yaml"
        try "model: \(model)\nmax_steps: 4\n".write(toFile: file, atomically: true, encoding: .utf8)
        let outcome = try await config.run(["--config", file])
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        #expect(FileManager.default.contents(atPath: config.scene.workspace + "/out.txt") == Data("from-config\n".utf8))
        let missing = try await config.run(["--config", config.scene.root + "/nope.yaml"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.yaml: cannot read the file"), "stderr: \(missing.stderr)")
    }
}
