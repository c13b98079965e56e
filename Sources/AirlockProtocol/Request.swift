#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A request frame from the harness: `{"id": N, "type": "...", ...fields}`.
public struct RequestFrame: Sendable, Hashable, Codable {
    public var id: UInt64
    public var request: Request

    public init(id: UInt64, request: Request) {
        self.id = id
        self.request = request
    }

    private enum CodingKeys: String, CodingKey { case id, type }

    public init(from decoder: Decoder) throws {
        let keys = try decoder.container(keyedBy: CodingKeys.self)
        id = try keys.decode(UInt64.self, forKey: .id)
        let type = try keys.decode(String.self, forKey: .type)
        switch type {
        case "exec": request = .exec(try ExecRequest(from: decoder))
        case "read_file": request = .readFile(try PathRequest(from: decoder))
        case "write_file": request = .writeFile(try WriteFileRequest(from: decoder))
        case "edit_file": request = .editFile(try EditFileRequest(from: decoder))
        case "list_files": request = .listFiles(try PathRequest(from: decoder))
        case "stat": request = .stat(try PathRequest(from: decoder))
        case "cancel": request = .cancel(try CancelRequest(from: decoder))
        case "stdin": request = .stdin(try StdinRequest(from: decoder))
        case "ping": request = .ping
        default:
            if let kind = StreamFrame.Kind(rawValue: type) {
                request = .stream(try StreamFrame(kind: kind, from: decoder))
                return
            }
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: keys, debugDescription: "unknown request type '\(type)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var keys = encoder.container(keyedBy: CodingKeys.self)
        try keys.encode(id, forKey: .id)
        try keys.encode(request.type, forKey: .type)
        switch request {
        case .exec(let body): try body.encode(to: encoder)
        case .readFile(let body), .listFiles(let body), .stat(let body): try body.encode(to: encoder)
        case .writeFile(let body): try body.encode(to: encoder)
        case .editFile(let body): try body.encode(to: encoder)
        case .cancel(let body): try body.encode(to: encoder)
        case .stdin(let body): try body.encode(to: encoder)
        case .stream(let body): try body.encodeBody(to: encoder)
        case .ping: break
        }
    }
}

public enum Request: Sendable, Hashable {
    case exec(ExecRequest)
    case readFile(PathRequest)
    case writeFile(WriteFileRequest)
    case editFile(EditFileRequest)
    case listFiles(PathRequest)
    case stat(PathRequest)
    case cancel(CancelRequest)
    /// More input for a running `interactive` exec.
    case stdin(StdinRequest)
    /// A frame of an egress stream (never `stream_open`: only the guest opens streams).
    case stream(StreamFrame)
    /// The harness's heartbeat, answered `ok` at once; a guest started with `--heartbeat N`
    /// exits when N seconds pass without any frame (a remote stream that dropped silently).
    case ping

    public var type: String {
        switch self {
        case .exec: "exec"
        case .readFile: "read_file"
        case .writeFile: "write_file"
        case .editFile: "edit_file"
        case .listFiles: "list_files"
        case .stat: "stat"
        case .cancel: "cancel"
        case .stdin: "stdin"
        case .stream(let frame): frame.kind.rawValue
        case .ping: "ping"
        }
    }
}

/// Run a command. Exactly one of `argv` and `shell` is set; `shell` runs through `/bin/sh -c`.
public struct ExecRequest: Sendable, Hashable, Codable {
    public var argv: [String]?
    public var shell: String?
    /// Relative to `/workspace` unless absolute.
    public var cwd: String?
    /// The whole environment of the command: nothing else is inherited.
    public var env: [String: String]?
    public var stdin: Data?
    public var timeoutMs: Int?
    /// Per-stream capture cap in bytes; output beyond it is drained and dropped.
    public var outputCap: Int?
    /// Grace between SIGTERM and SIGKILL when the call is timed out or cancelled.
    public var killGraceMs: Int?
    /// stdin stays open after `stdin` and is fed by `stdin` frames until one closes it
    /// (a long-lived process such as an MCP server speaking over its stdio).
    public var interactive: Bool?

    public init(argv: [String]? = nil, shell: String? = nil, cwd: String? = nil,
                env: [String: String]? = nil, stdin: Data? = nil, timeoutMs: Int? = nil,
                outputCap: Int? = nil, killGraceMs: Int? = nil, interactive: Bool? = nil) {
        self.interactive = interactive
        self.argv = argv
        self.shell = shell
        self.cwd = cwd
        self.env = env
        self.stdin = stdin
        self.timeoutMs = timeoutMs
        self.outputCap = outputCap
        self.killGraceMs = killGraceMs
    }

    enum CodingKeys: String, CodingKey {
        case argv, shell, cwd, env, stdin, interactive
        case timeoutMs = "timeout_ms", outputCap = "output_cap", killGraceMs = "kill_grace_ms"
    }
}

/// `read_file`, `list_files` and `stat` name one path inside `/workspace`.
public struct PathRequest: Sendable, Hashable, Codable {
    public var path: String
    /// For `read_file`: the most bytes to return (default: the frame budget).
    public var maxBytes: Int?

    public init(path: String, maxBytes: Int? = nil) {
        self.path = path
        self.maxBytes = maxBytes
    }

    enum CodingKeys: String, CodingKey { case path, maxBytes = "max_bytes" }
}

public struct WriteFileRequest: Sendable, Hashable, Codable {
    public var path: String
    public var content: Data
    /// Create missing parent directories (inside the workspace only).
    public var createParents: Bool?

    public init(path: String, content: Data, createParents: Bool? = true) {
        self.path = path
        self.content = content
        self.createParents = createParents
    }

    enum CodingKeys: String, CodingKey { case path, content, createParents = "create_parents" }
}

/// Replace exactly one occurrence of `old` with `new`.
public struct EditFileRequest: Sendable, Hashable, Codable {
    public var path: String
    public var old: String
    public var new: String

    public init(path: String, old: String, new: String) {
        self.path = path
        self.old = old
        self.new = new
    }
}

public struct CancelRequest: Sendable, Hashable, Codable {
    /// The id of the request to cancel.
    public var target: UInt64

    public init(target: UInt64) { self.target = target }
}

/// Bytes for the stdin of a running interactive exec; `close` ends its input (EOF).
public struct StdinRequest: Sendable, Hashable, Codable {
    /// The id of the interactive exec.
    public var target: UInt64
    public var data: Data?
    public var close: Bool?

    public init(target: UInt64, data: Data? = nil, close: Bool? = nil) {
        self.target = target
        self.data = data
        self.close = close
    }
}
