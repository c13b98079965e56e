import AirlockProtocol
import AirlockSandbox
import CAirlockSys
import Foundation
import Glibc

/// The run's workspace on the harness host, copied into the pod's `/workspace` when the
/// sandbox starts and back when it ends, as a tar stream through the guest binary itself
/// (`airlock-guest --unpack/--pack`): nothing is needed from the sandbox's image. Both ways
/// are bounded by `limit` bytes of archive, with an error naming it.
struct WorkspaceSync {
    let root: String
    let limit: Int

    /// Counts of what moved, for the ledger.
    struct Summary: Sendable {
        var entries = 0
        var bytes = 0
    }

    // MARK: host → pod

    /// The host workspace as a tar (symlinks kept as links, never followed).
    func pack() throws(SandboxError) -> (archive: Data, summary: Summary) {
        var archive = Data()
        var summary = Summary()
        try walk("", into: &archive, summary: &summary)
        archive.append(contentsOf: TarCodec.trailer)
        summary.bytes = archive.count
        return (archive, summary)
    }

    private func walk(_ relative: String, into archive: inout Data, summary: inout Summary) throws(SandboxError) {
        let directory = relative.isEmpty ? root : root + "/" + relative
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted() } catch {
            throw SandboxError(.configuration, "cannot read the workspace directory \(directory): \(error.localizedDescription)")
        }
        for name in names {
            let child = relative.isEmpty ? name : relative + "/" + name
            let path = root + "/" + child
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let mode = Int(info.st_mode & 0o777)
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                archive.append(contentsOf: TarCodec.header(.init(name: child, kind: .directory, mode: mode)))
                try walk(child, into: &archive, summary: &summary)
            case S_IFLNK:
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else { continue }
                archive.append(contentsOf: TarCodec.header(.init(name: child, kind: .symlink, mode: 0o777, linkTarget: target)))
            case S_IFREG:
                // Sized before it is read: one huge file must not be loaded to learn it is too big.
                guard archive.count + Int(info.st_size) + 1024 <= limit else { throw tooLarge("the workspace \(root)") }
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw SandboxError(.configuration, "cannot read \(path) from the workspace")
                }
                archive.append(contentsOf: TarCodec.header(.init(name: child, kind: .file, mode: mode, size: data.count)))
                archive.append(data)
                archive.append(Data(count: TarCodec.padding(data.count)))
            default:
                continue
            }
            summary.entries += 1
            guard archive.count <= limit else { throw tooLarge("the workspace \(root)") }
        }
    }

    func tooLarge(_ what: String) -> SandboxError {
        SandboxError(.configuration, "\(what) is over the kubernetes tier's workspace limit of \(limit / (1024 * 1024)) MiB",
                     fix: "make the workspace smaller (the whole tree is copied into the pod and back), or raise --kube-workspace-limit")
    }

    // MARK: pod → host

    /// Makes the host workspace the archive's tree: entries missing from it are removed,
    /// the rest written. The archive comes from the sandbox, so it is untrusted: every name is
    /// checked first (relative, no `..`, parents are directories of the archive, never a
    /// symlink), and files are opened beneath the workspace without following symlinks.
    func apply(_ archive: Data) throws(SandboxError) -> Summary {
        let entries = try parse(archive)
        let byName = Dictionary(entries.map { ($0.entry.name, $0.entry.kind) }, uniquingKeysWith: { $1 })
        for (entry, _) in entries {
            let parent = entry.name.lastIndex(of: "/").map { String(entry.name[..<$0]) } ?? ""
            guard parent.isEmpty || byName[parent] == .directory else {
                throw SandboxError(.protocolViolation, "the pod's workspace archive has \(entry.name) without its directory \(parent) (refused; nothing was changed)")
            }
        }
        prune("", keeping: byName)
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { throw SandboxError(.configuration, "cannot open the workspace \(root)") }
        defer { close(rootFD) }
        var summary = Summary(entries: entries.count, bytes: archive.count)
        for (entry, range) in entries {
            let path = root + "/" + entry.name
            switch entry.kind {
            case .directory:
                var info = stat()
                if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFDIR { unlink(path) }
                if mkdir(path, mode_t(entry.mode | 0o700)) != 0 && errno != EEXIST {
                    throw SandboxError(.configuration, "cannot create \(path): \(String(cString: strerror(errno)))")
                }
                chmod(path, mode_t(entry.mode | 0o700))
            case .symlink:
                unlink(path)
                if symlinkat(entry.linkTarget, rootFD, entry.name) != 0 {
                    throw SandboxError(.configuration, "cannot create the symlink \(path): \(String(cString: strerror(errno)))")
                }
            case .file:
                var info = stat()
                if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG { unlink(path) }
                let fd = airlock_open_beneath(rootFD, entry.name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                                              UInt32(entry.mode | 0o600))
                guard fd >= 0 else { throw SandboxError(.configuration, "cannot write \(path): \(String(cString: strerror(errno)))") }
                let ok = archive[range].withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let count = write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                        if count < 0 && errno == EINTR { continue }
                        if count <= 0 { return false }
                        offset += count
                    }
                    return true
                }
                fchmod(fd, mode_t(entry.mode))
                close(fd)
                guard ok else { throw SandboxError(.configuration, "cannot write \(path): \(String(cString: strerror(errno)))") }
            }
        }
        summary.entries = entries.count
        return summary
    }

    /// Every entry with the byte range of its contents, or the reason the archive is refused.
    func parse(_ archive: Data) throws(SandboxError) -> [(entry: TarCodec.Entry, range: Range<Int>)] {
        let bytes = [UInt8](archive)
        var offset = 0
        var reader = TarCodec.Reader { count in
            guard count >= 0, offset + count <= bytes.count else { return nil }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }
        var entries: [(TarCodec.Entry, Range<Int>)] = []
        while true {
            let next: TarCodec.Entry?
            do { next = try reader.next() } catch {
                throw SandboxError(.protocolViolation, "the pod's workspace archive is refused: \(error.message) (nothing was changed)")
            }
            guard let entry = next else { return entries }
            let start = offset + archive.startIndex
            let skip = entry.size + TarCodec.padding(entry.size)
            guard offset + skip <= bytes.count else {
                throw SandboxError(.protocolViolation, "the pod's workspace archive is cut short in \(entry.name) (nothing was changed)")
            }
            offset += skip
            entries.append((entry, start..<(start + entry.size)))
        }
    }

    /// Removes what the archive does not have, or has as another kind (never following links).
    private func prune(_ relative: String, keeping byName: [String: TarCodec.Kind]) {
        let directory = relative.isEmpty ? root : root + "/" + relative
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names {
            let child = relative.isEmpty ? name : relative + "/" + name
            let path = root + "/" + child
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let kind: TarCodec.Kind? = switch info.st_mode & S_IFMT {
            case S_IFDIR: .directory
            case S_IFLNK: .symlink
            case S_IFREG: .file
            default: nil
            }
            guard let kind else { continue } // sockets, fifos: never sent, so never removed
            if byName[child] == kind {
                if kind == .directory { prune(child, keeping: byName) }
            } else {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }
}
