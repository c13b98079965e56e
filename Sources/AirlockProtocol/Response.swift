#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A frame from the guest. `id` is the request it answers; 0 for frames that answer no
/// request (the greeting, an error about a frame whose id could not be read).
public struct ResponseFrame: Sendable, Hashable, Codable {
    public var id: UInt64
    public var response: Response

    public init(id: UInt64, response: Response) {
        self.id = id
        self.response = response
    }

    private enum CodingKeys: String, CodingKey { case id, type }

    public init(from decoder: Decoder) throws {
        let keys = try decoder.container(keyedBy: CodingKeys.self)
        id = try keys.decode(UInt64.self, forKey: .id)
        let type = try keys.decode(String.self, forKey: .type)
        switch type {
        case "hello": response = .hello(try Hello(from: decoder))
        case "stdout": response = .stdout(try OutputChunk(from: decoder))
        case "stderr": response = .stderr(try OutputChunk(from: decoder))
        case "exit": response = .exit(try ExitStatus(from: decoder))
        case "file": response = .file(try FileContent(from: decoder))
        case "entries": response = .entries(try DirectoryListing(from: decoder))
        case "stat": response = .stat(try FileStat(from: decoder))
        case "ok": response = .ok
        case "error": response = .error(try ErrorFrame(from: decoder))
        default:
            if let kind = StreamFrame.Kind(rawValue: type) {
                response = .stream(try StreamFrame(kind: kind, from: decoder))
                return
            }
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: keys, debugDescription: "unknown response type '\(type)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var keys = encoder.container(keyedBy: CodingKeys.self)
        try keys.encode(id, forKey: .id)
        try keys.encode(response.type, forKey: .type)
        switch response {
        case .hello(let body): try body.encode(to: encoder)
        case .stdout(let body), .stderr(let body): try body.encode(to: encoder)
        case .exit(let body): try body.encode(to: encoder)
        case .file(let body): try body.encode(to: encoder)
        case .entries(let body): try body.encode(to: encoder)
        case .stat(let body): try body.encode(to: encoder)
        case .ok: break
        case .error(let body): try body.encode(to: encoder)
        case .stream(let body): try body.encodeBody(to: encoder)
        }
    }
}

public enum Response: Sendable, Hashable {
    /// The guest's first frame: it is up and speaks this protocol version.
    case hello(Hello)
    case stdout(OutputChunk)
    case stderr(OutputChunk)
    /// The last frame of an exec.
    case exit(ExitStatus)
    case file(FileContent)
    case entries(DirectoryListing)
    case stat(FileStat)
    /// A write, edit or cancel succeeded.
    case ok
    /// The request failed; the last frame of its request.
    case error(ErrorFrame)
    /// A frame of an egress stream; answers no request (its frame id is 0).
    case stream(StreamFrame)

    public var type: String {
        switch self {
        case .hello: "hello"
        case .stdout: "stdout"
        case .stderr: "stderr"
        case .exit: "exit"
        case .file: "file"
        case .entries: "entries"
        case .stat: "stat"
        case .ok: "ok"
        case .error: "error"
        case .stream(let frame): frame.kind.rawValue
        }
    }

    /// Whether this frame ends its request.
    public var isFinal: Bool {
        switch self {
        case .stdout, .stderr, .stream: false
        default: true
        }
    }
}

public struct Hello: Sendable, Hashable, Codable {
    public var version: Int
    public var pid: Int32
    public var workspace: String
    /// With `--fence`: how many processes an earlier guest in the same pod left, now killed.
    public var fenced: Int?

    public init(version: Int = ProtocolVersion.current, pid: Int32, workspace: String, fenced: Int? = nil) {
        self.version = version
        self.pid = pid
        self.workspace = workspace
        self.fenced = fenced
    }
}

public struct OutputChunk: Sendable, Hashable, Codable {
    public var data: Data
    public init(data: Data) { self.data = data }
}

/// How an exec ended, as data: a status or a signal, never both.
public struct ExitStatus: Sendable, Hashable, Codable {
    public var code: Int32?
    public var signal: Int32?
    public var timedOut: Bool
    public var cancelled: Bool
    public var stdoutTruncated: Bool
    public var stderrTruncated: Bool
    public var usage: ResourceUsage

    public init(code: Int32?, signal: Int32?, timedOut: Bool = false, cancelled: Bool = false,
                stdoutTruncated: Bool = false, stderrTruncated: Bool = false,
                usage: ResourceUsage) {
        self.code = code
        self.signal = signal
        self.timedOut = timedOut
        self.cancelled = cancelled
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.usage = usage
    }

    /// The shell convention: the code, or 128 + signal.
    public var shellStatus: Int32 {
        if let code { return code }
        return 128 + (signal ?? 0)
    }

    enum CodingKeys: String, CodingKey {
        case code, signal, usage
        case timedOut = "timed_out", cancelled
        case stdoutTruncated = "stdout_truncated", stderrTruncated = "stderr_truncated"
    }
}

public struct ResourceUsage: Sendable, Hashable, Codable {
    public var wallMs: Double
    public var userCpuMs: Double
    public var systemCpuMs: Double
    public var maxRssKB: Int

    public init(wallMs: Double, userCpuMs: Double, systemCpuMs: Double, maxRssKB: Int) {
        self.wallMs = wallMs
        self.userCpuMs = userCpuMs
        self.systemCpuMs = systemCpuMs
        self.maxRssKB = maxRssKB
    }

    enum CodingKeys: String, CodingKey {
        case wallMs = "wall_ms", userCpuMs = "user_cpu_ms", systemCpuMs = "system_cpu_ms"
        case maxRssKB = "max_rss_kb"
    }
}

public struct FileContent: Sendable, Hashable, Codable {
    public var content: Data
    /// The file's full size; larger than `content.count` when it was cut at `max_bytes`.
    public var size: Int

    public init(content: Data, size: Int) {
        self.content = content
        self.size = size
    }
}

public struct DirectoryListing: Sendable, Hashable, Codable {
    public var entries: [FileStat]
    public init(entries: [FileStat]) { self.entries = entries }
}

public struct FileStat: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case file, directory, symlink, other }
    public var name: String
    public var kind: Kind
    public var size: Int
    public var mode: UInt32
    public var modifiedMs: Int64

    public init(name: String, kind: Kind, size: Int, mode: UInt32, modifiedMs: Int64) {
        self.name = name
        self.kind = kind
        self.size = size
        self.mode = mode
        self.modifiedMs = modifiedMs
    }

    enum CodingKeys: String, CodingKey { case name, kind, size, mode, modifiedMs = "modified_ms" }
}

public struct ErrorFrame: Sendable, Hashable, Codable {
    /// Machine-readable: `malformed_frame`, `frame_too_large`, `unknown_type`, `not_found`,
    /// `path_escape`, `spawn_failed`, `io`, `no_match`, `ambiguous_match`, `unknown_request`,
    /// `version_mismatch`.
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }
}
