import Glibc

/// `airlock-guest --install FROM TO`: the Kubernetes pod's `guest` container runs it as its
/// postStart hook (the kubelet starts `main` only once it returns). It copies the guest's
/// directory (the binary, and the loader and libraries beside it) from the guest image into
/// the pod's shared emptyDir, so images without a shell or glibc can run it.
public enum GuestInstall {
    /// Copies regular files of `source` and of its `lib` subdirectory (mode 0555); returns
    /// an error message, or nil. Each file appears whole or not at all (a temporary name,
    /// fsync, rename): a reader never starts a partial guest.
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
                guard name != ".", name != "..", !name.hasPrefix(temporaryPrefix) else { continue }
                let from = source + sub + "/" + name
                var info = stat()
                guard stat(from, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
                if let failure = copyFile(from, into: target + sub, name: name) { return failure }
            }
            if let failure = syncDirectory(target + sub) { return failure }
        }
        return nil
    }

    static let temporaryPrefix = ".airlock-install-"

    /// `from` to `directory/name` through `directory/.airlock-install-NAME-PID`.
    static func copyFile(_ from: String, into directory: String, name: String) -> String? {
        let final = directory + "/" + name
        let temporary = directory + "/" + temporaryPrefix + name + "-\(getpid())"
        unlink(temporary)  // left by an earlier attempt that was killed
        if let failure = write(from, to: temporary) {
            unlink(temporary)
            return failure
        }
        guard rename(temporary, final) == 0 else {
            unlink(temporary)
            return "cannot rename \(temporary) to \(final)"
        }
        return nil
    }

    static func write(_ from: String, to: String) -> String? {
        let input = open(from, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return "cannot read \(from)" }
        defer { close(input) }
        let output = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC, 0o555)
        guard output >= 0 else { return "cannot write \(to)" }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return "cannot read \(from)" }
            if count == 0 { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { Glibc.write(output, $0.baseAddress.map { $0 + offset }, count - offset) }
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return "cannot write \(to)" }
                offset += written
            }
        }
        return fsync(output) == 0 ? nil : "cannot sync \(to)"
    }

    /// The renames themselves on disk.
    static func syncDirectory(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return "cannot open \(path)" }
        defer { close(descriptor) }
        return fsync(descriptor) == 0 ? nil : "cannot sync \(path)"
    }
}
