/// What `--image` and `airlock image import` take.
public enum ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// An OCI image layout directory; the tag picks a manifest by its ref.name annotation.
    case ociLayout(directory: String, tag: String?)
    /// A `docker save` / `podman save` tar (legacy manifest.json, or an OCI index inside).
    case dockerArchive(file: String)
    /// An already unpacked root file system, used read-only as it is.
    case directory(String)
    /// The name of an image in the store.
    case stored(String)

    public init(parsing text: String) throws(ImageError) {
        if text.hasPrefix("oci:") {
            let rest = String(text.dropFirst(4))
            guard !rest.isEmpty else { throw Self.usage(text) }
            // DIR[:TAG]: a colon after the last slash separates the tag.
            let lastSlash = rest.lastIndex(of: "/")
            if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
                let tag = String(rest[rest.index(after: colon)...])
                let directory = String(rest[..<colon])
                guard !tag.isEmpty, !directory.isEmpty else { throw Self.usage(text) }
                self = .ociLayout(directory: directory, tag: tag)
            } else {
                self = .ociLayout(directory: rest, tag: nil)
            }
        } else if text.hasPrefix("docker-archive:") {
            let file = String(text.dropFirst("docker-archive:".count))
            guard !file.isEmpty else { throw Self.usage(text) }
            self = .dockerArchive(file: file)
        } else if text.hasPrefix("dir:") {
            let path = String(text.dropFirst(4))
            guard !path.isEmpty else { throw Self.usage(text) }
            self = .directory(path)
        } else if ImageName.isValid(text) {
            self = .stored(text)
        } else {
            throw Self.usage(text)
        }
    }

    public var description: String {
        switch self {
        case .ociLayout(let directory, let tag): return "oci:" + directory + (tag.map { ":" + $0 } ?? "")
        case .dockerArchive(let file): return "docker-archive:" + file
        case .directory(let path): return "dir:" + path
        case .stored(let name): return name
        }
    }

    /// A name for the store when the user gave none.
    public var defaultName: String {
        func base(_ path: String) -> String {
            let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
            let last = trimmed.split(separator: "/").last.map(String.init) ?? "image"
            for suffix in [".tar.gz", ".tgz", ".tar"] where last.hasSuffix(suffix) {
                return String(last.dropLast(suffix.count))
            }
            return last
        }
        let raw: String
        switch self {
        case .ociLayout(let directory, let tag): raw = base(directory) + (tag.map { ":" + $0 } ?? "")
        case .dockerArchive(let file): raw = base(file)
        case .directory(let path): raw = base(path)
        case .stored(let name): raw = name
        }
        return ImageName.sanitized(raw)
    }

    static func usage(_ text: String) -> ImageError {
        ImageError(.reference, "'\(Digest.printable(text))' is not an image reference",
                   fix: "use oci:DIR[:TAG], docker-archive:FILE, dir:PATH, or a name from `airlock image ls`")
    }
}

/// Names in the store: letters, digits and `._-:`, 1 to 128 characters, not starting with a dot.
public enum ImageName {
    public static func isValid(_ name: String) -> Bool {
        guard (1...128).contains(name.utf8.count), !name.hasPrefix("."), !name.hasPrefix("-") else { return false }
        return name.utf8.allSatisfy { byte in
            (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
                || byte == 46 || byte == 95 || byte == 45 || byte == 58
        }
    }

    static func sanitized(_ raw: String) -> String {
        let mapped = String(raw.map { character -> Character in
            let text = String(character)
            return isValid("a" + text) ? character : "-"
        }.prefix(128))
        return isValid(mapped) ? mapped : "image"
    }
}
