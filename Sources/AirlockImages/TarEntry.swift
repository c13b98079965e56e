/// One member of a tar stream, with PAX and GNU long names already folded in.
struct TarEntry: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case file, hardLink, symlink, directory, characterDevice, blockDevice, fifo, other(UInt8)
    }

    var path: String
    var linkName: String
    var kind: Kind
    var mode: UInt32
    var uid: Int
    var gid: Int
    var size: Int
}
