import AirlockModels
import Testing
@testable import AirlockCore

@Suite struct CanonicalJSONTests {
    @Test func sortsKeysByCodePointWithoutWhitespace() {
        let value = JSONValue.object([
            "b": .int(1), "a": .array([.null, .bool(true), .bool(false)]), "B": .string("x"),
            "é": .int(2), "z": .object(["y": .int(1), "x": .int(2)]), "aa": .int(3),
        ])
        #expect(value.canonicalJSON == #"{"B":"x","a":[null,true,false],"aa":3,"b":1,"z":{"x":2,"y":1},"é":2}"#)
    }

    @Test func codePointOrderNotCanonicalEquivalenceOrder() {
        // U+FB01 (ligature) sorts after "z" by code point.
        let value = JSONValue.object(["\u{FB01}": .int(1), "z": .int(2), "\u{1F600}": .int(3)])
        #expect(value.canonicalJSON == "{\"z\":2,\"\u{FB01}\":1,\"\u{1F600}\":3}")
    }

    @Test func escapesOnlyWhatJSONRequires() {
        let text = "q\" b\\ / \u{08}\u{0C}\n\r\t \u{01}\u{1F} \u{7F} é 😀"
        #expect(JSONValue.string(text).canonicalJSON
            == "\"q\\\" b\\\\ / \\b\\f\\n\\r\\t \\u0001\\u001f \u{7F} é 😀\"")
    }

    @Test(arguments: [
        (0.1, "0.1"), (1.0, "1.0"), (-2.5, "-2.5"), (100.0, "100.0"), (1e15, "1000000000000000.0"),
        (9.5e15, "9500000000000000.0"), (1e16, "1e+16"), (1.2345678901234568e17, "1.2345678901234568e+17"),
        (0.0001, "0.0001"), (0.00012, "0.00012"), (1e-5, "1e-05"), (1.5e-7, "1.5e-07"),
        (3e100, "3e+100"), (-0.0, "-0.0"), (0.0, "0.0"), (2.0 / 3.0, "0.6666666666666666"),
        (Double.leastNonzeroMagnitude, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    ])
    func doublesMatchPythonRepr(value: Double, expected: String) {
        #expect(CanonicalJSON.formatDouble(value) == expected)
    }

    @Test func integersAndNonFiniteDoubles() {
        #expect(JSONValue.int(-42).canonicalJSON == "-42")
        #expect(JSONValue.int(Int.max).canonicalJSON == "9223372036854775807")
        #expect(JSONValue.double(.nan).canonicalJSON == "null")
        #expect(JSONValue.double(.infinity).canonicalJSON == "null")
    }

    @Test func parseThenCanonicalRoundTrips() throws {
        let text = #" { "z" : [1, 2.50, -0.0, 1E3, "\u00e9\ud83d\ude00\/"], "a": {"n": null} } "#
        let value = try JSONValue(parsing: text)
        #expect(value.canonicalJSON == #"{"a":{"n":null},"z":[1,2.5,-0.0,1000.0,"é😀/"]}"#)
        #expect(try JSONValue(parsing: value.canonicalJSON) == value)
    }

    @Test func parserKeepsIntegersApartFromDoubles() throws {
        #expect(try JSONValue(parsing: "5") == .int(5))
        #expect(try JSONValue(parsing: "5.0") == .double(5))
        #expect(try JSONValue(parsing: "99999999999999999999") == .double(1e20))
    }

    @Test(arguments: [
        ("{\"a\":1,}", "line 1, column 8"), ("{\"a\" 1}", "expected ':'"), ("[1 2]", "expected ',' or ']'"),
        ("{\"a\":1,\"a\":2}", "duplicate key \"a\""), ("\"\\x\"", "invalid escape"), ("01", "unexpected text"),
        ("{\n  \"a\": tru }", "line 2, column 8"), ("\"\\ud800\"", "unpaired surrogate"), ("", "unexpected end"),
        ("\"a\u{01}\"", "control character"), ("1e999", "out of range"),
    ])
    func parserSaysWhereAndWhy(text: String, fragment: String) {
        #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        do {
            _ = try JSONValue(parsing: text)
        } catch {
            #expect(error.description.contains(fragment), "\(error.description)")
        }
    }
}

/// Golden values produced by an independent implementation (Python's json.dumps with
/// ensure_ascii=False, separators=(",", ":"), sort_keys=True, and hashlib), as docs/ledger.md says.
@Suite struct CanonicalGoldenTests {
    @Test func matchesPythonJSONDumps() {
        let value = JSONValue.object([
            "b": .array([.int(1), .double(2.5), .double(1e16), .double(9.5e15), .double(-0.0), .double(1e-5)]),
            "a": .string("q\"\\ \u{01} é\u{7F} /"), "é": .null, "Z": .bool(true),
        ])
        #expect(value.canonicalJSON
            == "{\"Z\":true,\"a\":\"q\\\"\\\\ \\u0001 é\u{7F} /\",\"b\":[1,2.5,1e+16,9500000000000000.0,-0.0,1e-05],\"é\":null}")
    }

    @Test func docsExampleHash() {
        let bytes = LedgerEntry.canonicalBytes(run: "r-x", seq: 1, time: "2025-11-29T13:45:01.123Z",
                                               kind: .toolCallProposed, payloadJSON: #"{"n":1.5,"name":"shell"}"#)
        #expect(String(decoding: bytes, as: UTF8.self)
            == #"{"kind":"tool_call_proposed","payload":{"n":1.5,"name":"shell"},"run":"r-x","seq":1,"time":"2025-11-29T13:45:01.123Z"}"#)
        #expect(LedgerEntry.computeHash(prevHash: LedgerEntry.genesisHash, canonicalBytes: bytes)
            == "d8b9191bb1ed657d83ae13d47c0b77d41f4407d517121b6a63a2451639f8a2c6")
    }
}
