import AirlockProtocol
import Foundation

/// An archive built in memory from directories and regular files, with the workspace's own
/// tar codec (ustar, PAX for long names): for the guest image's layer and its OCI archive.
struct TarWriter {
    private var data = Data()

    mutating func directory(_ name: String) {
        data.append(contentsOf: TarCodec.header(TarCodec.Entry(name: name, kind: .directory, mode: 0o755)))
    }

    mutating func file(_ name: String, _ contents: Data, mode: Int = 0o644) {
        data.append(contentsOf: TarCodec.header(TarCodec.Entry(name: name, kind: .file, mode: mode, size: contents.count)))
        data.append(contents)
        data.append(Data(count: TarCodec.padding(contents.count)))
    }

    mutating func finish() -> Data {
        data.append(contentsOf: TarCodec.trailer)
        return data
    }
}
