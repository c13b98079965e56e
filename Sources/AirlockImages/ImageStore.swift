import Foundation
import Glibc

/// The content-addressed image store under the state dir (never mounted into a sandbox):
///
///     images/
///       sha256/<hex>/      one unpacked image: rootfs/, image.json, manifest.json,
///                          config.json, owners.json (original owners and modes)
///       names.json         name → digest
///       tmp/               private work dirs of imports in progress (0700)
///       roots/             per-sandbox writable copies, removed when the sandbox ends
///
/// An image is renamed into sha256/ only when whole, so a reader never sees half of one.
public struct ImageStore: Sendable {
    public let directory: String

    public init(stateDirectory: String) {
        directory = (stateDirectory as NSString).appendingPathComponent("images")
    }

    var imagesDirectory: String { directory + "/sha256" }
    var temporaryDirectory: String { directory + "/tmp" }
    public var rootsDirectory: String { directory + "/roots" }
    var namesFile: String { directory + "/names.json" }

    public func imageDirectory(_ digest: Digest) -> String { imagesDirectory + "/" + digest.hex }
    public func rootfs(_ digest: Digest) -> String { imageDirectory(digest) + "/rootfs" }

    func prepare() throws(ImageError) {
        for (path, mode) in [(directory, 0o711), (imagesDirectory, 0o711), (temporaryDirectory, 0o700), (rootsDirectory, 0o711)] {
            if mkdir(path, mode_t(mode)) != 0 && errno != EEXIST {
                // The state dir itself may not exist yet.
                do {
                    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                    chmod(path, mode_t(mode))
                } catch {
                    throw ImageError(.io, "cannot create \(path): \(error.localizedDescription)")
                }
            }
        }
    }

    /// Every image in the store, with the names that point at it.
    public func list() throws(ImageError) -> [(image: StoredImage, names: [String])] {
        let names = try readNames()
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: imagesDirectory)) ?? []
        var images: [(image: StoredImage, names: [String])] = []
        for hex in entries.sorted() {
            guard let digest = try? Digest("sha256:" + hex), let image = try? metadata(digest) else { continue }
            images.append((image: image, names: names.filter { $0.value == digest }.map(\.key).sorted()))
        }
        return images
    }

    public func metadata(_ digest: Digest) throws(ImageError) -> StoredImage {
        guard let data = FileManager.default.contents(atPath: imageDirectory(digest) + "/image.json") else {
            throw ImageError(.reference, "image \(digest) is not in the store", fix: "import it with `airlock image import REF`")
        }
        do {
            return try JSONDecoder().decode(StoredImage.self, from: data)
        } catch {
            throw ImageError(.invalid, "the store's record of \(digest) is unreadable", fix: "remove it with `airlock image rm` and import again")
        }
    }

    /// A name, a full digest or a unique digest prefix (at least 6 digits).
    public func find(_ key: String) throws(ImageError) -> StoredImage {
        let names = try readNames()
        if let digest = names[key] { return try metadata(digest) }
        let hex = key.hasPrefix("sha256:") ? String(key.dropFirst(7)) : key
        if hex.utf8.count >= 6, hex.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) {
            let matches = ((try? FileManager.default.contentsOfDirectory(atPath: imagesDirectory)) ?? []).filter { $0.hasPrefix(hex) }
            if matches.count == 1, let digest = try? Digest("sha256:" + matches[0]) { return try metadata(digest) }
        }
        throw ImageError(.reference, "no image named '\(Digest.printable(key))' in the store",
                         fix: "see `airlock image ls`, or import it with `airlock image import REF --name \(Digest.printable(key))`")
    }

    public func readNames() throws(ImageError) -> [String: Digest] {
        guard let data = FileManager.default.contents(atPath: namesFile) else { return [:] }
        guard let names = try? JSONDecoder().decode([String: Digest].self, from: data) else {
            throw ImageError(.invalid, "\(namesFile) is unreadable", fix: "remove it and re-import the images")
        }
        return names
    }

    /// Changes the names under an exclusive lock, written atomically.
    func updateNames(_ change: (inout [String: Digest]) throws(ImageError) -> Void) throws(ImageError) {
        try prepare()
        let lock = open(directory + "/names.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw ImageError.io("cannot lock the image names", errno) }
        defer { close(lock) }
        _ = flock(lock, LOCK_EX)
        var names = try readNames()
        try change(&names)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? encoder.encode(names) else { throw ImageError(.io, "cannot encode the image names") }
        let temporary = namesFile + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data), rename(temporary, namesFile) == 0 else {
            throw ImageError.io("cannot write \(namesFile)", errno)
        }
    }

    public func setName(_ name: String, to digest: Digest) throws(ImageError) {
        guard ImageName.isValid(name) else {
            throw ImageError(.reference, "'\(Digest.printable(name))' is not a valid image name",
                             fix: "use letters, digits and . _ - : (up to 128, not starting with . or -)")
        }
        try updateNames { names throws(ImageError) in names[name] = digest }
    }
}
