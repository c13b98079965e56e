import CAirlockImages
import Glibc

/// The config's `User` (`uid`, `uid:gid`, `name`, `name:group`) resolved against the
/// image's own /etc/passwd and /etc/group, read without following symlinks.
enum ImageUser {
    static func resolve(_ user: String?, rootFD: Int32) -> (uid: UInt32, gid: UInt32)? {
        guard let user, !user.isEmpty else { return (0, 0) }
        let parts = user.split(separator: ":", maxSplits: 1).map(String.init)
        let passwd = table(rootFD, "etc/passwd")
        var uid: UInt32
        var gid: UInt32
        if let number = UInt32(parts[0]) {
            uid = number
            gid = passwd.first { $0.count > 3 && $0[2] == parts[0] }.flatMap { UInt32($0[3]) } ?? number
        } else if let row = passwd.first(where: { $0.count > 3 && $0[0] == parts[0] }),
                  let rowUID = UInt32(row[2]), let rowGID = UInt32(row[3]) {
            uid = rowUID
            gid = rowGID
        } else {
            return nil
        }
        if parts.count > 1 {
            if let number = UInt32(parts[1]) {
                gid = number
            } else if let row = table(rootFD, "etc/group").first(where: { $0.count > 2 && $0[0] == parts[1] }),
                      let rowGID = UInt32(row[2]) {
                gid = rowGID
            } else {
                return nil
            }
        }
        return (uid, gid)
    }

    private static func table(_ rootFD: Int32, _ path: String) -> [[String]] {
        let fd = airlock_img_open_strict(rootFD, path, O_RDONLY, 0)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 1 << 20 {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n")
            .map { $0.split(separator: ":", omittingEmptySubsequences: false).map(String.init) }
    }
}
