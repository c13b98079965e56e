import CAirlockImages
import Glibc

/// Directories the sandbox mounts over. The image tree is bound read-only, where bwrap
/// cannot create a missing mount point, so they are made once, at unpack time; something
/// else in their place (a file, a symlink out of the tree) is replaced.
public enum MountPoints {
    public static let directories = ["proc", "dev", "tmp", "run", "var", "var/tmp", "workspace", ".airlock",
                                     "root", "home", "etc"]

    static func create(in rootFD: Int32) throws(ImageError) {
        for path in directories {
            let fd = airlock_img_open_strict(rootFD, path, O_RDONLY | O_DIRECTORY, 0)
            if fd >= 0 {
                close(fd)
                continue
            }
            let tree = TreePath(components: path.split(separator: "/").map(String.init))
            let parent = airlock_img_open_strict(rootFD, tree.parent.relative, O_RDONLY | O_DIRECTORY, 0)
            guard parent >= 0 else { throw ImageError.io("cannot prepare mount point /\(path)", errno) }
            defer { close(parent) }
            if unlinkat(parent, tree.name, 0) != 0 && errno != ENOENT {
                throw ImageError(.invalid, "/\(path) in the image is in the way of a sandbox mount point")
            }
            guard mkdirat(parent, tree.name, 0o755) == 0 else {
                throw ImageError.io("cannot create mount point /\(path)", errno)
            }
        }
        // /tmp and /var/tmp are world-writable with the sticky bit, as everywhere.
        _ = fchmodat(rootFD, "tmp", 0o1777, 0)
        _ = fchmodat(rootFD, "var/tmp", 0o1777, 0)
    }
}
