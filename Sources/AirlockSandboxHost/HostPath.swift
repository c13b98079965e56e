import Glibc

/// Path and directory helpers on plain POSIX calls, where Foundation's `NSString` path API,
/// `NSTemporaryDirectory` and `FileManager.enumerator` would pull full Foundation into the
/// lean `airlock-exec` (FoundationEssentials has none of them).
package enum HostPath {
    /// `path` without its last component: "/a/b" → "/a", "/a" → "/", "b" → "".
    package static func directory(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "" }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    /// The last component: "/a/b/" → "b", "/" → "/".
    package static func lastComponent(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/"), trimmed.count > 1 else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// $TMPDIR, else /tmp, ending in "/" (as `NSTemporaryDirectory()`).
    package static var temporaryDirectory: String {
        var directory = getenv("TMPDIR").map { String(cString: $0) } ?? ""
        if directory.isEmpty { directory = "/tmp" }
        return directory.hasSuffix("/") ? directory : directory + "/"
    }

    package static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Calls `visit` with every path below `root` (not `root` itself), parents first.
    /// Symbolic links are visited, never followed.
    package static func walk(_ root: String, _ visit: (String) -> Void) {
        guard let directory = opendir(root) else { return }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let path = root.hasSuffix("/") ? root + name : root + "/" + name
            visit(path)
            var info = stat()
            if lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { walk(path, visit) }
        }
    }
}
