import Foundation

/// JSON text in and out, with stable key order so identical values give identical bytes
/// (request bodies are compared across retries, arguments are hashed in the ledger).
enum JSONText {
    static func encode(_ value: JSONValue) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    static func bytes(_ value: JSONValue) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail: every case maps to a JSON value.
        return (try? encoder.encode(value)) ?? Data("null".utf8)
    }

    static func decode(_ data: Data) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: data)
    }

    static func decode(_ text: String) -> JSONValue? {
        decode(Data(text.utf8))
    }
}
