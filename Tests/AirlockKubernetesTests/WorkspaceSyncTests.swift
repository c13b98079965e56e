import AirlockProtocol
@testable import AirlockKubernetes
import Foundation
import Glibc
import Testing

/// The workspace's tar trip, on the host alone: a round trip keeps contents, modes and
/// links; an archive from a hostile pod cannot write outside the workspace, and a refused
/// archive changes nothing. Every attack aims only at directories this test created.
@Suite("kubernetes: the workspace archive (host side)")
struct WorkspaceSyncTests {
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "airlock-wsync-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func archive(_ entries: [(TarCodec.Entry, String)]) -> Data {
        var data = Data()
        for (entry, contents) in entries {
            data.append(contentsOf: TarCodec.header(entry))
            data.append(Data(contents.utf8))
            data.append(Data(count: TarCodec.padding(contents.utf8.count)))
        }
        data.append(contentsOf: TarCodec.trailer)
        return data
    }

    @Test("pack then apply into another directory: same tree, modes, a long name, a link; stale files removed")
    func roundTrip() throws {
        let source = try Self.directory(), target = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: source); try? FileManager.default.removeItem(atPath: target) }
        let long = String(repeating: "n", count: 80) + "/" + String(repeating: "m", count: 60) + ".txt"
        try FileManager.default.createDirectory(atPath: source + "/" + String(repeating: "n", count: 80), withIntermediateDirectories: true)
        try "long\n".write(toFile: source + "/" + long, atomically: true, encoding: .utf8)
        try "run\n".write(toFile: source + "/x.sh", atomically: true, encoding: .utf8)
        chmod(source + "/x.sh", 0o751)
        try FileManager.default.createSymbolicLink(atPath: source + "/link", withDestinationPath: "x.sh")
        try "stale\n".write(toFile: target + "/stale.txt", atomically: true, encoding: .utf8)
        #expect(mkfifo(target + "/fifo", 0o600) == 0)
        let (archive, packed) = try WorkspaceSync(root: source, limit: 1 << 20).pack()
        let applied = try WorkspaceSync(root: target, limit: 1 << 20).apply(archive)
        #expect(packed.entries == 4 && applied.entries == 4, "\(packed) \(applied)")
        #expect(try String(contentsOfFile: target + "/" + long, encoding: .utf8) == "long\n")
        var info = stat()
        #expect(stat(target + "/x.sh", &info) == 0 && info.st_mode & 0o777 == 0o751)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: target + "/link") == "x.sh")
        #expect(!FileManager.default.fileExists(atPath: target + "/stale.txt"))
        var fifo = stat()
        #expect(lstat(target + "/fifo", &fifo) == 0, "a fifo is never sent, so never removed")
    }

    @Test("a workspace over the limit is refused with the limit and the flag that raises it")
    func overLimit() throws {
        let source = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: source) }
        try Data(count: 3 << 20).write(to: URL(fileURLWithPath: source + "/big.bin"))
        #expect { try WorkspaceSync(root: source, limit: 2 << 20).pack() } throws: { error in
            "\(error)".contains("2 MiB") && "\(error)".contains("--kube-workspace-limit")
        }
    }

    @Test("hostile archives from a pod: .., absolute paths, writing through a link, a file without its directory: refused, nothing changed")
    func hostile() throws {
        let parent = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let workspace = parent + "/ws", outside = parent + "/outside"
        try FileManager.default.createDirectory(atPath: workspace, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try "keep\n".write(toFile: workspace + "/keep.txt", atomically: true, encoding: .utf8)
        // A link already on the host workspace, pointing out: the archive then names a file under it.
        try FileManager.default.createSymbolicLink(atPath: workspace + "/out", withDestinationPath: outside)
        let attacks: [[(TarCodec.Entry, String)]] = [
            [(.init(name: "../outside/escape.txt", kind: .file, mode: 0o644, size: 4), "evil")],
            [(.init(name: "/tmp/escape.txt", kind: .file, mode: 0o644, size: 4), "evil")],
            [(.init(name: "lnk", kind: .symlink, mode: 0o777, linkTarget: outside), ""),
             (.init(name: "lnk/escape.txt", kind: .file, mode: 0o644, size: 4), "evil")],
            [(.init(name: "out/escape.txt", kind: .file, mode: 0o644, size: 4), "evil")],
        ]
        for (index, attack) in attacks.enumerated() {
            var data = Self.archive(attack)
            if index == 1 {
                // TarCodec.header writes what it is given; a raw absolute name, as a hostile tar would carry.
                data = Self.archive([(.init(name: "tmp/escape.txt", kind: .file, mode: 0o644, size: 4), "evil")])
                data[0] = UInt8(ascii: "/")
                data.replaceSubrange(148..<156, with: Array(repeating: UInt8(ascii: " "), count: 8))
                let sum = data[0..<512].reduce(0) { $0 + Int($1) }
                data.replaceSubrange(148..<155, with: Array(String(format: "%06o\u{0}", sum).utf8))
            }
            #expect(throws: (any Error).self, "attack \(index)") { try WorkspaceSync(root: workspace, limit: 1 << 20).apply(data) }
            #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "attack \(index) wrote outside")
            #expect(FileManager.default.fileExists(atPath: workspace + "/keep.txt"), "attack \(index) changed the workspace")
        }
        // The host's link replaced by the archive's directory: the link goes, not what it points to.
        let replaced = Self.archive([(.init(name: "out", kind: .directory, mode: 0o755), ""),
                                     (.init(name: "out/inside.txt", kind: .file, mode: 0o644, size: 2), "ok")])
        _ = try WorkspaceSync(root: workspace, limit: 1 << 20).apply(replaced)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "the write went through the host's link")
        #expect(try String(contentsOfFile: workspace + "/out/inside.txt", encoding: .utf8) == "ok")
    }
}
