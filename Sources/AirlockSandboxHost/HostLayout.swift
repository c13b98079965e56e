import AirlockSandbox
import Glibc

/// What the host's root looks like where the sandbox borrows from it: which system
/// directories exist and which are merged-/usr symlinks, and which `/etc` files programs
/// need. Read once; the launcher itself stays a pure function of it.
public struct HostLayout: Sendable, Hashable {
    public enum Entry: Sendable, Hashable {
        case directory(String)
        case symlink(String, target: String)
    }

    public var systemEntries: [Entry]
    public var etcFiles: [String]

    public init(systemEntries: [Entry], etcFiles: [String]) {
        self.systemEntries = systemEntries
        self.etcFiles = etcFiles
    }

    /// System directories the tools need, read-only. Not /root, /home, /var, /run, /opt
    /// (a harness's toolchains and secrets tend to live there) nor the harness state dir.
    package static let systemPaths = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]

    /// From /etc only what programs need: identity lookups, the dynamic loader, TLS roots,
    /// time zone, `alternatives` (Debian's symlinked tools). Never shadow, gshadow, sudoers,
    /// ssh host keys. passwd and group are generated, not borrowed.
    package static let etcAllowList = [
        "/etc/nsswitch.conf", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
        "/etc/ssl", "/etc/ca-certificates", "/etc/ca-certificates.conf", "/etc/pki",
        "/etc/localtime", "/etc/timezone", "/etc/alternatives", "/etc/mime.types",
        "/etc/protocols", "/etc/services", "/etc/hosts", "/etc/host.conf", "/etc/gai.conf",
        "/etc/debian_version", "/etc/os-release", "/etc/lsb-release", "/etc/inputrc",
        "/etc/bash.bashrc", "/etc/profile", "/etc/magic", "/etc/magic.mime", "/etc/gitconfig",
        "/etc/python3", "/etc/perl", "/etc/locale.alias",
    ]

    public static func current() -> HostLayout {
        var entries: [Entry] = []
        for path in systemPaths {
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            if (info.st_mode & S_IFMT) == S_IFLNK {
                var buffer = [CChar](repeating: 0, count: 4096)
                let count = readlink(path, &buffer, buffer.count - 1)
                if count > 0 {
                    let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                    entries.append(.symlink(path, target: target))
                }
            } else if (info.st_mode & S_IFMT) == S_IFDIR {
                entries.append(.directory(path))
            }
        }
        let etc = etcAllowList.filter { access($0, F_OK) == 0 }
        return HostLayout(systemEntries: entries, etcFiles: etc)
    }
}
