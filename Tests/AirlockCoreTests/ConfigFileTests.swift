import AirlockModels
import Foundation
import Testing
@testable import AirlockCore

/// `airlock.yaml` and the user file: shapes, lines in errors, precedence, trust.
@Suite struct ConfigFileTests {
    func parse(_ text: String) throws(ConfigError) -> ConfigFile { try ConfigFile.parse(text, path: "/p/airlock.yaml") }

    func error(_ text: String) -> ConfigError? {
        do throws(ConfigError) { _ = try parse(text); return nil } catch { return error }
    }

    @Test func valuesAreTypedAndPathsResolvedAgainstTheFile() throws {
        let file = try parse("""
            model: script:run.json
            max_steps: 12
            max_cost: 0.5
            timeout: 90
            memory: 2G
            snapshot_workspace: true
            allow_hosts: [pypi.org, "files.pythonhosted.org"]
            prices: ../prices.json
            policy: {default: ask, rules: [{tool: shell, decision: deny}]}
            """)
        #expect(file["model"]?.value == .string("script:run.json"))
        #expect(file["max_steps"]?.value == .int(12))
        #expect(file["max_steps"]?.line == 2)
        #expect(file["max_cost"]?.value == .double(0.5))
        #expect(file["timeout"]?.value == .string("90s"))
        #expect(file["memory"]?.value == .string("2G"))
        #expect(file["snapshot_workspace"]?.value == .bool(true))
        #expect(file["allow_hosts"]?.value == .array([.string("pypi.org"), .string("files.pythonhosted.org")]))
        #expect(file["prices"]?.value == .string("/prices.json"))
        #expect(file["policy"]?.value["default"] == .string("ask"))
        #expect(file.sha256.count == 64)
    }

    @Test(arguments: [
        ("model: a\nmax_stepz: 3\n", 2, "max_stepz", "unknown key; did you mean max_steps"),
        ("max_steps: ten\n", 1, "max_steps", "expected an integer, got a string"),
        ("max_steps: \"3\"\n", 1, "max_steps", "expected an integer, got a string"),
        ("max_steps: 0\n", 1, "max_steps", "must be at least 1"),
        ("max_cost: -2\n", 1, "max_cost", "must be positive"),
        ("approver: robot\n", 1, "approver", "'robot' is not one of tty, web, deny"),
        ("snapshot_workspace: maybe\n", 1, "snapshot_workspace", "expected true or false"),
        ("allow_hosts: pypi.org\n", 1, "allow_hosts", "expected a list of strings"),
        ("redact:\n  - ok\n  - 5\n", 3, "redact", "every item must be a non-empty string"),
        ("model: a\nmodel: b\n", 2, "model", "the key appears twice"),
        ("timeout: [1]\n", 1, "timeout", "expected a duration"),
        ("policy: 3\n", 1, "policy", "expected a policy file path or an inline policy mapping"),
        ("remote_mcp_servers: [x]\n", 1, "remote_mcp_servers", "expected a mapping of server names"),
        ("mcp_servers: [a]\n", 1, "mcp_servers", "expected a mapping of server names"),
        ("- just\n- a list\n", 1, nil, "must be a mapping"),
        ("sandbox: podman\n", 1, "sandbox", "'podman' is not one of auto, bwrap, oci, gvisor, landlock"),
        ("image: \"dir:\"\n", 1, "image", "names no path after dir:"),
        ("image: [a]\n", 1, "image", "expected a non-empty string"),
        ("image_root: rw\n", 1, "image_root", "'rw' is not one of overlay, copy, read-only"),
    ] as [(String, Int, String?, String)])
    func badValuesNameFileLineAndKey(text: String, line: Int, key: String?, message: String) {
        let failure = error(text)
        #expect(failure?.file == "/p/airlock.yaml")
        #expect(failure?.line == line, "\(String(describing: failure))")
        #expect(failure?.key == key)
        #expect(failure?.message.contains(message) == true, "\(String(describing: failure))")
    }

    @Test func imagePathsResolveAgainstTheFileAndStoreNamesStay() throws {
        #expect(try parse("image: oci:img:v1\n")["image"]?.value == .string("oci:/p/img:v1"))
        #expect(try parse("image: docker-archive:../a.tar\n")["image"]?.value == .string("docker-archive:/a.tar"))
        #expect(try parse("image: dir:/srv/root\n")["image"]?.value == .string("dir:/srv/root"))
        #expect(try parse("image: python-3.12\n")["image"]?.value == .string("python-3.12"))
        let file = try parse("sandbox: oci\nimage_root: copy\n")
        #expect(file["sandbox"]?.value == .string("oci"))
        #expect(file["image_root"]?.line == 2)
    }

    @Test func invalidYAMLNamesTheLine() {
        let failure = error("model: a\nmax_steps: [1,\n")
        #expect(failure?.message.contains("not valid YAML") == true)
        #expect((failure?.line ?? 0) >= 2)
    }

    @Test func projectOverUserOverDefault() throws {
        let user = try ConfigFile.parse("model: openai:user\nmax_steps: 5\nmax_tokens: 100\n", path: "/u/config.yaml")
        let project = try parse("max_steps: 7\n")
        let layers = ConfigLayers(user: user, project: project)
        #expect(layers["max_steps"]?.value == .int(7))
        #expect(layers["max_steps"]?.source == "project /p/airlock.yaml:1")
        #expect(layers["model"]?.value == .string("openai:user"))
        #expect(layers["model"]?.source == "user /u/config.yaml:1")
        #expect(layers["max_cost"] == nil)
    }

    @Test func widening() throws {
        func widens(_ text: String, userPolicy: Bool = false) throws -> [String] {
            let user = userPolicy ? try ConfigFile.parse("policy: {default: deny}\n", path: "/u/c.yaml") : nil
            return ConfigLayers(user: user, project: try parse(text)).widening().map(\.key.name)
        }
        #expect(try widens("model: x\nmax_steps: 3\ntools: []\n") == [])
        #expect(try widens("allow_hosts: [a.example]\nsecrets: [T]\n") == ["allow_hosts", "secrets"])
        #expect(try widens("base_url: http://evil.example/v1\n") == ["base_url"])
        #expect(try widens("workspace: /home\n") == ["workspace"])
        #expect(try widens("policy: {default: ask, rules: [{tool: shell, decision: deny}]}\n") == [])
        #expect(try widens("policy: {rules: [{tool: shell, decision: allow}]}\n") == ["policy"])
        #expect(try widens("policy: {rules: [{tool: shell, decision: deny}]}\n", userPolicy: true) == ["policy"])
        #expect(try widens("policy: strict.yaml\n") == ["policy"])
        // Only the tier without namespaces, and a host directory as the root, widen.
        #expect(try widens("sandbox: bwrap\nimage: oci:img\nimage_root: copy\n") == [])
        #expect(try widens("sandbox: gvisor\nimage: python\n") == [])
        #expect(try widens("sandbox: landlock\n") == ["sandbox"])
        #expect(try widens("image: dir:/\n") == ["image"])
        #expect(try widens("remote_mcp_servers:\n  gh: {url: \"https://x.example/mcp\"}\n") == ["remote_mcp_servers"])
    }

    @Test func trustIsByContentHash() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("airlock-trust-" + UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("airlock.yaml").path
        try "allow_hosts: [pypi.org]\n".write(toFile: path, atomically: true, encoding: .utf8)
        let trust = ConfigTrust(file: directory.appendingPathComponent("trusted.json"))
        let layers = ConfigLayers(user: nil, project: try ConfigFile.load(path))
        #expect(throws: ConfigError.self) { try layers.checkTrust(trust, trustFlag: false) }
        do throws(ConfigError) { try layers.checkTrust(trust, trustFlag: false) } catch {
            #expect(error.description.contains("airlock config trust"))
            #expect(error.key == "allow_hosts" && error.line == 1)
        }
        try layers.checkTrust(trust, trustFlag: true)
        try trust.trust(try ConfigFile.load(path))
        try ConfigLayers(user: nil, project: try ConfigFile.load(path)).checkTrust(trust, trustFlag: false)
        // An edit after the trust (a new host) is untrusted again.
        try "allow_hosts: [pypi.org, evil.example]\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) {
            try ConfigLayers(user: nil, project: try ConfigFile.load(path)).checkTrust(trust, trustFlag: false)
        }
    }
}
