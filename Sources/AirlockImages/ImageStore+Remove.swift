import Foundation
import Glibc

extension ImageStore {
    /// Drops a name; the image goes too when no other name points at it.
    /// Returns the digest removed from disk, if any.
    @discardableResult
    public func remove(_ key: String) throws(ImageError) -> Digest? {
        let image = try find(key)
        var stillNamed = false
        try updateNames { names throws(ImageError) in
            if names[key] != nil {
                names[key] = nil
            } else {
                // Removed by digest: every name of it goes.
                names = names.filter { $0.value != image.digest }
            }
            stillNamed = names.values.contains(image.digest)
        }
        guard !stillNamed else { return nil }
        try discard(imageDirectory(image.digest))
        return image.digest
    }

    /// Removes images no name points at, imports that died half way, and writable
    /// roots whose sandbox process is gone. Returns what went.
    public func prune() throws(ImageError) -> [String] {
        try prepare()
        var removed: [String] = []
        let named = Set(try readNames().values)
        for hex in (try? FileManager.default.contentsOfDirectory(atPath: imagesDirectory)) ?? [] {
            guard let digest = try? Digest("sha256:" + hex), !named.contains(digest) else { continue }
            try discard(imageDirectory(digest))
            removed.append(digest.description)
        }
        for (directory, label) in [(temporaryDirectory, "partial import"), (rootsDirectory, "sandbox root")] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                // Work dirs are named <pid>-<random>: only a dead owner's go.
                if let pid = Int32(name.split(separator: "-").first ?? ""), pid > 0, kill(pid, 0) == 0 || errno == EPERM {
                    continue
                }
                try discard(directory + "/" + name)
                removed.append("\(label) \(name)")
            }
        }
        return removed
    }

    /// Renames a tree out of sight, then deletes it: a reader sees it whole or not at all.
    func discard(_ path: String) throws(ImageError) {
        try prepare()
        let aside = temporaryDirectory + "/\(getpid())-removing-\(UInt64.random(in: 0...UInt64.max))"
        guard rename(path, aside) == 0 else {
            if errno == ENOENT { return }
            throw ImageError.io("cannot remove \(path)", errno)
        }
        Self.removeTree(aside)
    }

    /// rm -rf that never follows a symlink (an image tree is full of them), making
    /// read-only directories writable on the way.
    public static func removeTree(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            chmod(path, 0o700)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
                removeTree(path + "/" + name)
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
