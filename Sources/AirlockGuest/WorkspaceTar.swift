import AirlockProtocol
import Glibc

/// `airlock-guest --pack DIR` / `--unpack DIR`: a remote sandbox's workspace as a tar stream
/// on stdout/stdin (TarCodec), so the harness can copy a workspace into a pod and back with
/// nothing from the sandbox's image (no tar, no shell). Symlinks are never followed.
public enum WorkspaceTar {
    /// Writes DIR's tree to stdout; returns an error message, or nil.
    public static func pack(_ root: String) -> String? {
        var output = Output()
        if let failure = walk(root, relative: "", into: &output) { return failure }
        output.finish(TarCodec.trailer)
        return output.failed ? "cannot write to stdout" : nil
    }

    private static func walk(_ root: String, relative: String, into output: inout Output) -> String? {
        let path = relative.isEmpty ? root : root + "/" + relative
        guard let directory = opendir(path) else { return "cannot open \(path): \(String(cString: strerror(errno)))" }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        for name in names.sorted() {
            let child = relative.isEmpty ? name : relative + "/" + name
            var info = stat()
            guard lstat(root + "/" + child, &info) == 0 else { continue }
            let mode = Int(info.st_mode & 0o777)
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                output.write(TarCodec.header(.init(name: child, kind: .directory, mode: mode)))
                if let failure = walk(root, relative: child, into: &output) { return failure }
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: 4096)
                let count = buffer.withUnsafeMutableBufferPointer { pointer -> Int in
                    guard let base = pointer.baseAddress else { return -1 }
                    return readlink(root + "/" + child, base, pointer.count)
                }
                guard count >= 0 else { continue }
                let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                output.write(TarCodec.header(.init(name: child, kind: .symlink, mode: 0o777, linkTarget: target)))
            case S_IFREG:
                if let failure = copyFile(root + "/" + child, name: child, mode: mode, into: &output) { return failure }
            default:
                continue // sockets, fifos, devices: not workspace content
            }
        }
        return nil
    }

    private static func copyFile(_ path: String, name: String, mode: Int, into output: inout Output) -> String? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return "cannot read \(path): \(String(cString: strerror(errno)))" }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return "cannot stat \(path)" }
        let size = Int(info.st_size)
        output.write(TarCodec.header(.init(name: name, kind: .file, mode: mode, size: size)))
        var left = size
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while left > 0 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, left)) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return "\(path) shrank while it was copied" }
            output.write(buffer[0..<count])
            left -= count
        }
        output.write([UInt8](repeating: 0, count: TarCodec.padding(size)))
        return nil
    }

    /// Reads a tar from stdin into DIR (which exists); returns an error message, or nil.
    public static func unpack(_ root: String) -> String? {
        var input = Input()
        var reader = TarCodec.Reader { input.read($0) }
        while true {
            let entry: TarCodec.Entry?
            do { entry = try reader.next() } catch { return error.message }
            guard let entry else { return nil }
            let path = root + "/" + entry.name
            switch entry.kind {
            case .directory:
                if mkdir(path, mode_t(entry.mode | 0o700)) != 0 && errno != EEXIST { return "cannot create \(path): \(String(cString: strerror(errno)))" }
            case .symlink:
                unlink(path)
                if symlink(entry.linkTarget, path) != 0 { return "cannot create the symlink \(path): \(String(cString: strerror(errno)))" }
            case .file:
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode_t(entry.mode | 0o600))
                guard fd >= 0 else { return "cannot write \(path): \(String(cString: strerror(errno)))" }
                var left = entry.size
                var failure: String?
                while left > 0 {
                    guard let chunk = input.read(min(left, 1 << 16)) else { failure = "the archive is cut short in \(entry.name)"; break }
                    if !writeAll(fd, chunk[...]) { failure = "cannot write \(path): \(String(cString: strerror(errno)))"; break }
                    left -= chunk.count
                }
                _ = fchmod(fd, mode_t(entry.mode))
                close(fd)
                if let failure { return failure }
                guard input.read(TarCodec.padding(entry.size)) != nil else { return "the archive is cut short" }
            }
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) -> Bool {
        var offset = bytes.startIndex
        while offset < bytes.endIndex {
            let count = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return false }
            offset += count
        }
        return true
    }

    /// Buffered stdout.
    struct Output {
        private var buffer: [UInt8] = []
        private(set) var failed = false
        mutating func write(_ bytes: some Collection<UInt8>) {
            buffer.append(contentsOf: bytes)
            if buffer.count >= 1 << 16 { flush() }
        }
        mutating func flush() {
            if !failed && !WorkspaceTar.writeAll(1, buffer[...]) { failed = true }
            buffer.removeAll(keepingCapacity: true)
        }
        mutating func finish(_ trailer: [UInt8]) {
            buffer.append(contentsOf: trailer)
            flush()
        }
    }

    /// Exact reads from stdin.
    struct Input {
        private var buffer: [UInt8] = []
        private var start = 0
        mutating func read(_ count: Int) -> [UInt8]? {
            while buffer.count - start < count {
                if start > 0 { buffer.removeFirst(start); start = 0 }
                var chunk = [UInt8](repeating: 0, count: 1 << 16)
                let got = chunk.withUnsafeMutableBytes { Glibc.read(0, $0.baseAddress, $0.count) }
                if got < 0 && errno == EINTR { continue }
                if got <= 0 { return nil }
                buffer.append(contentsOf: chunk[0..<got])
            }
            defer { start += count }
            return Array(buffer[start..<(start + count)])
        }
    }
}
