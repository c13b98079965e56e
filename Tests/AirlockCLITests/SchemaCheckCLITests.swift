import AirlockTestSupport
import Foundation
import Testing

@Suite("airlock schema check", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(1)))
struct SchemaCheckCLITests {
    @Test("exit 0 when all valid, 1 when one is not, 2 when the schema is unusable; --json one object a line")
    func exitCodesAndJSON() async throws {
        let scene = try RunScene()
        defer { scene.remove() }
        func write(_ name: String, _ text: String) throws -> String {
            let path = scene.root + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let schema = try write("schema.json", #"""
            {"$defs": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}},
             "type": "object", "properties": {"port": {"$ref": "#/$defs/port"}}, "required": ["port"],
             "unevaluatedProperties": false}
            """#)
        let good = try write("good.json", #"{"port": 8080}"#)
        let bad = try write("bad.json", #"{"port": 0, "host": "x"}"#)
        let broken = try write("broken.json", #"{"port": "#)

        let allGood = try await RunBinary.run(["schema", "check", schema, good])
        #expect(allGood.status == 0 && allGood.stdout.contains("good.json: valid"), "\(allGood.stdout) \(allGood.stderr)")

        let mixed = try await RunBinary.run(["schema", "check", schema, good, bad, broken, "--json"])
        #expect(mixed.status == 1)
        let rows = mixed.objects.compactMap { $0 }
        #expect(rows.count == 3, "\(mixed.stdout)")
        #expect(rows.map { $0["valid"] as? Bool } == [true, false, false])
        #expect((rows[0]["instance"] as? String)?.hasSuffix("good.json") == true)
        let errors = (rows[1]["errors"] as? [[String: Any]]) ?? []
        #expect(errors.compactMap { $0["instance_path"] as? String }.sorted() == ["/host", "/port"], "\(errors)")
        #expect(((rows[2]["errors"] as? [[String: Any]])?.first?["message"] as? String)?.contains("not valid JSON") == true)

        let unusable = try write("unusable.json", ##"{"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}"##)
        let refused = try await RunBinary.run(["schema", "check", unusable, good])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("does not resolve"), "\(refused.stderr)")
        let notSchema = try write("not-schema.json", #"{"minLength": -3}"#)
        let refusedMeta = try await RunBinary.run(["schema", "check", notSchema, good])
        #expect(refusedMeta.status == 2, "\(refusedMeta.stderr)")
    }
}
