import Foundation
import Testing
@testable import AirlockEgress

/// Starts a proxy on a loopback TCP port for one test and shuts it down afterwards.
func withProxy(_ configuration: EgressConfiguration,
               _ body: (EgressProxy, Int) async throws -> Void) async throws {
    let proxy = try EgressProxy(configuration: configuration)
    let port = try await proxy.start(host: "127.0.0.1", port: 0)
    do {
        try await body(proxy, port)
    } catch {
        await proxy.shutdown()
        throw error
    }
    await proxy.shutdown()
}

/// One request over a fresh proxy connection; returns the whole answer.
func exchange(_ port: Int, _ request: String) async throws -> String {
    let client = try await TestClient(.tcp(port))
    try await client.send(request)
    return try await client.readAll()
}

/// Records finish when connections close; wait briefly for the expected count.
func records(_ proxy: EgressProxy, count: Int = 1) async throws -> [EgressRecord] {
    var all: [EgressRecord] = []
    for _ in 0..<200 {
        all += proxy.takeRecords()
        if all.count >= count { break }
        try await Task.sleep(for: .milliseconds(10))
    }
    return all
}

func rules(_ texts: String...) throws -> [EgressRule] { try texts.map { try EgressRule(parsing: $0) } }

extension String {
    var statusLine: String { components(separatedBy: "\r\n").first ?? "" }
}
