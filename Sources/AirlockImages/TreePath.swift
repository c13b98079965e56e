/// A tar member name reduced to components under the root: a leading `/` and `.`
/// components dropped, `..` applied lexically and refused where it would climb out.
/// Nothing is resolved on disk here; the applier never follows a symlink anyway.
struct TreePath: Sendable, Hashable, CustomStringConvertible {
    var components: [String]

    init(components: [String]) {
        self.components = components
    }

    init(tarName raw: String) throws(ImageError) {
        var parts: [String] = []
        for piece in raw.split(separator: "/", omittingEmptySubsequences: true) {
            switch piece {
            case ".": continue
            case "..":
                guard !parts.isEmpty else {
                    throw ImageError(.invalid, "entry '\(Digest.printable(raw))' climbs out of the image root with '..'")
                }
                parts.removeLast()
            default:
                guard piece.utf8.count <= 255 else {
                    throw ImageError(.invalid, "entry '\(Digest.printable(raw))' has a name component longer than 255 bytes")
                }
                parts.append(String(piece))
            }
        }
        components = parts
    }

    var isRoot: Bool { components.isEmpty }
    var name: String { components.last ?? "." }
    var parent: TreePath { TreePath(components: Array(components.dropLast())) }
    var description: String { components.isEmpty ? "/" : "/" + components.joined(separator: "/") }
    /// Relative form for *at() calls ("." for the root).
    var relative: String { components.isEmpty ? "." : components.joined(separator: "/") }

    func appending(_ name: String) -> TreePath { TreePath(components: components + [name]) }

    func isInside(_ other: TreePath) -> Bool {
        components.count > other.components.count && Array(components.prefix(other.components.count)) == other.components
    }
}
