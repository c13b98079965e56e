import AirlockCore
import AirlockModels
import AirlockSchema
import Foundation
import Testing

/// Runs every case of the official JSON-Schema-Test-Suite's required draft 2020-12 tests
/// (a copy under JSONSchemaTestSuite/, MIT) and reports the pass rate. The suite's
/// "remote" documents (served from localhost:1234 in its own harness) are handed to the
/// validator as preloaded resources: nothing is fetched.
@Suite struct OfficialSuiteTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("JSONSchemaTestSuite")

    static func remotes() throws -> [String: JSONValue] {
        let base = root.appendingPathComponent("remotes")
        var documents: [String: JSONValue] = [:]
        let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)
        while let url = walker?.nextObject() as? URL {
            guard url.pathExtension == "json" else { continue }
            let relative = url.path.replacingOccurrences(of: base.path + "/", with: "")
            documents["http://localhost:1234/" + relative] = try JSONValue(parsing: String(contentsOf: url, encoding: .utf8))
        }
        return documents
    }

    @Test func requiredDraft202012CasesAllPass() throws {
        let remotes = try Self.remotes()
        let folder = Self.root.appendingPathComponent("tests")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        var total = 0
        var remoteCases = 0
        var failures: [String] = []
        for file in files {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            guard case .array(let groups) = try JSONValue(parsing: text) else { continue }
            for group in groups {
                let description = group["description"]?.stringValue ?? "?"
                guard let schemaValue = group["schema"], case .array(let cases)? = group["tests"] else { continue }
                let usesRemote = schemaValue.canonicalJSON.contains("localhost:1234")
                let schema: JSONSchema?
                var compileError = ""
                do { schema = try JSONSchema(schemaValue, resources: remotes) } catch {
                    schema = nil
                    compileError = error.description
                }
                for testCase in cases {
                    total += 1
                    if usesRemote { remoteCases += 1 }
                    guard let instance = testCase["data"], let expected = testCase["valid"], case .bool(let valid) = expected else { continue }
                    let name = "\(file) / \(description) / \(testCase["description"]?.stringValue ?? "?")"
                    guard let schema else {
                        failures.append(name + ": schema refused: " + compileError)
                        continue
                    }
                    let errors = schema.validate(instance)
                    if errors.isEmpty != valid {
                        failures.append(name + ": expected \(valid ? "valid" : "invalid"), got "
                                        + (errors.isEmpty ? "valid" : errors.map(\.description).joined(separator: "; ")))
                    }
                }
            }
        }
        let passed = total - failures.count
        print("JSON-Schema-Test-Suite draft2020-12 (required): \(passed)/\(total) cases pass "
              + "(\(String(format: "%.1f", 100 * Double(passed) / Double(max(total, 1))))%), "
              + "\(remoteCases) of them use preloaded remote documents")
        for failure in failures { print("  FAIL " + failure) }
        #expect(total > 1000)
        #expect(failures.isEmpty)
    }
}
