import AirlockKubernetes
import Foundation
import Testing

@Suite("kubeconfig: contexts, tokens, token files, certificates, CA data and files")
struct KubeConfigTests {
    static let caPEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

    @Test("the current context picks its cluster and user; another context is chosen by name")
    func contexts() throws {
        let ca = Data(Self.caPEM.utf8).base64EncodedString()
        let yaml = """
        apiVersion: v1
        kind: Config
        current-context: one
        clusters:
        - name: c1
          cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: "\(ca)", tls-server-name: api.internal}
        - name: c2
          cluster: {server: "https://127.0.0.2:443", insecure-skip-tls-verify: true}
        users:
        - name: u1
          user: {token: abc}
        - name: u2
          user: {tokenFile: tok}
        contexts:
        - name: one
          context: {cluster: c1, user: u1, namespace: sbx}
        - name: two
          context: {cluster: c2, user: u2}
        """
        let one = try KubeConfig.parse(yaml, directory: "/etc/kc")
        #expect(one.server == "https://127.0.0.1:6443")
        #expect(one.certificateAuthorityPEM == Self.caPEM)
        #expect(one.tlsServerName == "api.internal")
        #expect(one.token == "abc" && one.bearerToken() == "abc")
        #expect(one.namespace == "sbx")
        let two = try KubeConfig.parse(yaml, context: "two", directory: "/etc/kc")
        #expect(two.server == "https://127.0.0.2:443")
        #expect(two.insecureSkipTLSVerify)
        #expect(two.tokenFile == "/etc/kc/tok", "a relative token file is relative to the kubeconfig")
        #expect(two.namespace == nil)
        #expect(throws: KubeError.self) { try KubeConfig.parse(yaml, context: "three") }
    }

    @Test("a token file is re-read on every request (service-account tokens rotate)")
    func tokenFileRotates() throws {
        let directory = NSTemporaryDirectory() + "airlock-kc-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "first\n".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        var config = KubeConfig(server: "https://127.0.0.1:6443", context: "t")
        config.tokenFile = directory + "/token"
        #expect(config.bearerToken() == "first")
        try "second\n".write(toFile: directory + "/token", atomically: true, encoding: .utf8)
        #expect(config.bearerToken() == "second")
    }

    @Test("client certificate and key from files; a missing file or an exec plugin is a clear error")
    func certificates() throws {
        let directory = NSTemporaryDirectory() + "airlock-kc-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "CERT".write(toFile: directory + "/c.crt", atomically: true, encoding: .utf8)
        try "KEY".write(toFile: directory + "/c.key", atomically: true, encoding: .utf8)
        try Self.caPEM.write(toFile: directory + "/ca.crt", atomically: true, encoding: .utf8)
        let yaml = """
        current-context: x
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", certificate-authority: ca.crt}}]
        users: [{name: u, user: {client-certificate: c.crt, client-key: c.key}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        """
        let config = try KubeConfig.parse(yaml, directory: directory)
        #expect(config.clientCertificatePEM == "CERT" && config.clientKeyPEM == "KEY")
        #expect(config.certificateAuthorityPEM == Self.caPEM)
        let missing = yaml.replacingOccurrences(of: "c.key", with: "nope.key")
        #expect(throws: KubeError.self) { try KubeConfig.parse(missing, directory: directory) }
        let plugin = """
        current-context: x
        clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]
        users: [{name: u, user: {exec: {command: aws}}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        """
        do {
            _ = try KubeConfig.parse(plugin)
            Issue.record("an exec plugin was accepted")
        } catch {
            #expect(error.message.contains("exec plugin"))
        }
    }

    @Test("channel 3: Success is 0, NonZeroExitCode carries the code, anything else is unknown (never 0)")
    func execStatus() {
        #expect(ExecExit.parse(Data(#"{"metadata":{},"status":"Success"}"#.utf8)) == .code(0))
        let failure = #"{"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}"#
        #expect(ExecExit.parse(Data(failure.utf8)) == .code(3))
        let other = #"{"status":"Failure","message":"container not found","reason":"InternalError"}"#
        guard case .unknown = ExecExit.parse(Data(other.utf8)) else {
            Issue.record("a failure without a code was read as a code")
            return
        }
        guard case .unknown = ExecExit.parse(Data("not json".utf8)) else {
            Issue.record("garbage was read as a code")
            return
        }
    }
}
