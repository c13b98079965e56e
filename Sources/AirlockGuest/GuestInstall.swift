import Glibc

/// `airlock-guest --install FROM TO`: the Kubernetes init container's only job. It copies
/// the guest's directory (the binary, and the loader and libraries beside it) from the guest
/// image into the pod's shared emptyDir, so images without a shell or glibc can run it.
public enum GuestInstall {
    /// Copies regular files of `source` and of its `lib` subdirectory (mode 0555); returns
    /// an error message, or nil.
    public static func copy(from source: String, to target: String) -> String? {
        for sub in ["", "/lib"] {
            guard let directory = opendir(source + sub) else {
                if sub.isEmpty { return "cannot open \(source)" }
                continue
            }
            defer { closedir(directory) }
            if mkdir(target + sub, 0o755) != 0 && errno != EEXIST { return "cannot create \(target + sub)" }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                guard name != ".", name != ".." else { continue }
                let from = source + sub + "/" + name
                var info = stat()
                guard stat(from, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                if let failure = copyFile(from, target + sub + "/" + name) { return failure }
            }
        }
        return nil
    }

    static func copyFile(_ from: String, _ to: String) -> String? {
        let input = open(from, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return "cannot read \(from)" }
        defer { close(input) }
        let output = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o555)
        guard output >= 0 else { return "cannot write \(to)" }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return "cannot read \(from)" }
            if count == 0 { return nil }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(output, $0.baseAddress.map { $0 + offset }, count - offset) }
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return "cannot write \(to)" }
                offset += written
            }
        }
    }
}
