import AirlockCore
import AirlockModels
import Foundation

/// One JSON-RPC 2.0 message of the MCP stdio transport (one JSON object a line). Decoding
/// is strict: anything else is a `MCPDecodeError`, never a crash, since the server on the
/// other end runs in the sandbox and may say anything.
public enum MCPMessage: Sendable, Hashable {
    case request(id: JSONValue, method: String, params: JSONValue?)
    case notification(method: String, params: JSONValue?)
    case result(id: JSONValue, result: JSONValue)
    case error(id: JSONValue, code: Int, message: String, data: JSONValue?)

    public static func decode(_ bytes: [UInt8]) -> Result<MCPMessage, MCPDecodeError> {
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(MCPDecodeError("not UTF-8")) }
        let value: JSONValue
        do { value = try JSONValue(parsing: text) } catch { return .failure(MCPDecodeError("not JSON: \(error)")) }
        guard case .object(let members) = value else {
            return .failure(MCPDecodeError(value.isArray ? "JSON-RPC batches are not part of MCP" : "not a JSON object"))
        }
        guard members["jsonrpc"] == .string("2.0") else { return .failure(MCPDecodeError("\"jsonrpc\" is not \"2.0\"")) }
        let id = members["id"]
        if let id, !Self.isValidID(id) { return .failure(MCPDecodeError("the id must be a string or an integer")) }
        if let method = members["method"] {
            guard case .string(let name) = method, !name.isEmpty else { return .failure(MCPDecodeError("\"method\" is not a string")) }
            let params = members["params"]
            if let params, !params.isObjectOrArray { return .failure(MCPDecodeError("\"params\" must be an object")) }
            if let id { return .success(.request(id: id, method: name, params: params)) }
            return .success(.notification(method: name, params: params))
        }
        guard let id else { return .failure(MCPDecodeError("neither a method nor an id")) }
        switch (members["result"], members["error"]) {
        case (let result?, nil): return .success(.result(id: id, result: result))
        case (nil, .object(let error)?):
            guard case .int(let code)? = error["code"], case .string(let message)? = error["message"] else {
                return .failure(MCPDecodeError("an error needs an integer code and a string message"))
            }
            return .success(.error(id: id, code: code, message: message, data: error["data"]))
        default: return .failure(MCPDecodeError("a response needs exactly one of result and error"))
        }
    }

    /// The line to send (without its newline).
    public var encoded: Data {
        var members: [String: JSONValue] = ["jsonrpc": "2.0"]
        switch self {
        case .request(let id, let method, let params):
            members["id"] = id
            members["method"] = .string(method)
            members["params"] = params
        case .notification(let method, let params):
            members["method"] = .string(method)
            members["params"] = params
        case .result(let id, let result):
            members["id"] = id
            members["result"] = result
        case .error(let id, let code, let message, let data):
            members["id"] = id
            var error: [String: JSONValue] = ["code": .int(code), "message": .string(message)]
            if let data { error["data"] = data }
            members["error"] = .object(error)
        }
        return Data(JSONValue.object(members).canonicalJSON.utf8)
    }

    static func isValidID(_ id: JSONValue) -> Bool {
        switch id {
        case .string, .int: return true
        default: return false
        }
    }
}

public struct MCPDecodeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension JSONValue {
    var isArray: Bool { if case .array = self { return true } else { return false } }
    var isObjectOrArray: Bool {
        switch self {
        case .object, .array: return true
        default: return false
        }
    }
}
