import AirlockCore
import AirlockEgress
import ArgumentParser
import Foundation

/// Network options shared by `run` and `exec`: no network unless asked; with a proxy, only
/// the allowed hosts, and secrets only as placeholders inside (docs/egress.md).
struct EgressOptions: ParsableArguments {
    @Option(name: .long, help: "none (default: own network namespace, no route) or proxy (only --allow-host destinations, through Airlock's proxy; see docs/egress.md).")
    var network: String?

    @Option(name: .long, help: ArgumentHelp("A destination the sandbox may reach through the proxy: HOST[:PORT], *.example.com for subdomains, [::1]:8080 for IPv6 (repeatable; no port means 80 and 443). Implies --network proxy.", valueName: "host[:port]"))
    var allowHost: [String] = []

    @Option(name: .long, help: ArgumentHelp("Pin a name to an address for the proxy, like curl --resolve: HOST:ADDRESS (repeatable). Pinned addresses count as explicitly allowed, loopback included.", valueName: "host:address"))
    var resolve: [String] = []

    @Flag(name: .long, help: "Let allowed names resolve to loopback, link-local and private addresses (refused by default).")
    var allowPrivate = false

    @Option(name: .long, help: ArgumentHelp("An environment variable of the harness holding a secret. Inside, the variable holds a placeholder; the proxy puts the real value in request headers for the secret's hosts only (repeatable; needs --secret-host).", valueName: "name"))
    var secret: [String] = []

    @Option(name: .long, help: ArgumentHelp("Where a secret may be sent: NAME=HOST (repeatable; the host must be allowed too). HTTPS to it is intercepted with a per-run CA that the sandbox trusts.", valueName: "name=host"))
    var secretHost: [String] = []

    @Option(name: .long, help: ArgumentHelp("A PEM file of extra CA certificates the proxy trusts when it connects to a secret's host (repeatable; for internal CAs).", valueName: "file"))
    var upstreamCa: [String] = []

    @Option(name: .long, help: ArgumentHelp("Most bytes through the proxy, up and down together (e.g. 50M); past it connections are cut and a run ends with exit 3.", valueName: "bytes"))
    var maxEgress: ByteSize?

    /// The settings, or nil when the sandbox has no network. Mistakes are usage errors.
    func settings(placeholders: [String: String] = [:]) throws -> EgressSettings? {
        let mode = network ?? (allowHost.isEmpty ? "none" : "proxy")
        switch mode {
        case "none":
            if !allowHost.isEmpty || !secret.isEmpty || maxEgress != nil {
                throw CLIError("--network none takes no --allow-host, --secret or --max-egress; use --network proxy", code: 2)
            }
            return nil
        case "proxy":
            break
        default:
            throw CLIError("--network \(mode): use none or proxy", code: 2)
        }
        if allowHost.isEmpty {
            throw CLIError("--network proxy needs at least one --allow-host HOST[:PORT]", code: 2)
        }
        let rules: [EgressRule]
        do { rules = try allowHost.map { try EgressRule(parsing: $0) } }
        catch { throw CLIError("--allow-host: \(error)", code: 2) }
        var settings = EgressSettings(allowHosts: allowHost)
        settings.allowPrivate = allowPrivate
        for entry in resolve {
            guard let colon = entry.firstIndex(of: ":"), colon != entry.startIndex else {
                throw CLIError("--resolve takes HOST:ADDRESS, got '\(entry)'", code: 2)
            }
            var address = String(entry[entry.index(after: colon)...])
            if address.hasPrefix("["), address.hasSuffix("]") { address = String(address.dropFirst().dropLast()) }
            guard !address.isEmpty else { throw CLIError("--resolve \(entry): no address", code: 2) }
            settings.resolve[String(entry[..<colon]).lowercased(), default: []].append(address)
        }
        var hostsBySecret: [String: [String]] = [:]
        for entry in secretHost {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw CLIError("--secret-host takes NAME=HOST, got '\(entry)'", code: 2)
            }
            guard secret.contains(parts[0]) else {
                throw CLIError("--secret-host \(entry): no --secret \(parts[0])", code: 2)
            }
            let rule: EgressRule
            do { rule = try EgressRule(parsing: parts[1]) }
            catch { throw CLIError("--secret-host \(entry): \(error)", code: 2) }
            guard rule.isCovered(by: rules) else {
                throw CLIError("--secret-host \(entry): \(parts[1]) is not an allowed host; add --allow-host \(parts[1])", code: 2)
            }
            hostsBySecret[parts[0], default: []].append(parts[1])
        }
        for name in secret {
            guard name.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                throw CLIError("--secret \(name) is not a variable name", code: 2)
            }
            guard let hosts = hostsBySecret[name] else {
                throw CLIError("--secret \(name) has no --secret-host \(name)=HOST: a secret goes only where it is told", code: 2)
            }
            guard ProcessInfo.processInfo.environment[name].map({ !$0.isEmpty }) == true else {
                throw CLIError("--secret \(name): the variable is not set in this environment", code: 2)
            }
            settings.secrets.append(.init(name: name, hosts: hosts,
                                          placeholder: placeholders[name] ?? EgressSecret.makePlaceholder(name: name)))
        }
        for file in upstreamCa {
            guard let pem = try? String(contentsOfFile: file, encoding: .utf8), pem.contains("BEGIN CERTIFICATE") else {
                throw CLIError("--upstream-ca \(file): not a readable PEM certificate file", code: 2)
            }
            settings.upstreamTrustRootsPEM.append(pem)
        }
        return settings
    }

    /// The real values of the secrets, from this process's environment: for the proxy only.
    var secretValues: [String: String] {
        let environment = ProcessInfo.processInfo.environment
        return Dictionary(uniqueKeysWithValues: secret.compactMap { name in environment[name].map { (name, $0) } })
    }
}
