import Foundation
import Glibc
import Testing
@testable import AirlockImages

/// The image parsers against mutated tar, gzip and manifest inputs (seeded corpus in
/// Tests/Fuzz/corpus/image): every input ends in a value or a clean ImageError, and an
/// unpack never creates anything outside its root, whatever the bytes.
@Suite struct FuzzImageTests {
    /// A byte source over memory, for the fuzzer's inputs.
    final class MemorySource: ByteSource {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws(ImageError) -> Int {
            let count = min(buffer.count, bytes.count - offset)
            guard count > 0 else { return 0 }
            bytes.withUnsafeBytes { raw in
                if let source = raw.baseAddress { buffer.baseAddress?.copyMemory(from: source.advanced(by: offset), byteCount: count) }
            }
            offset += count
            return count
        }
    }

    @Test func tarAndGzipUnpackStaysInsideItsRoot() throws {
        let corpus = Fuzzer.corpus("image").filter { $0.count > 262 && ($0.starts(with: [0x1f, 0x8b]) || $0[257..<262].elementsEqual(Array("ustar".utf8))) }
        #expect(corpus.count >= 3, "the tar/gzip seeds are missing")
        var fuzzer = Fuzzer(corpus: corpus)
        var limits = ImageLimits()
        limits[.layerUncompressed] = 4 << 20
        limits[.headerBytes] = 64 << 10
        let sandbox = NSTemporaryDirectory() + "airlock-fuzz-image-\(getpid())"
        defer { ImageStore.removeTree(sandbox) }
        var refused = 0
        for _ in 0..<max(Fuzzer.iterations / 4, 50) {
            let input = fuzzer.next()
            ImageStore.removeTree(sandbox)
            try FileManager.default.createDirectory(atPath: sandbox + "/root", withIntermediateDirectories: true)
            let rootFD = open(sandbox + "/root", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            #expect(rootFD >= 0)
            do {
                let memory = MemorySource(input)
                let plain: any ByteSource = input.starts(with: [0x1f, 0x8b]) ? try GunzipSource(memory) : memory
                let tar = TarStream(source: plain, limits: limits)
                let applier = LayerApplier(rootFD: rootFD)
                applier.beginLayer()
                var entries = 0
                while let entry = try tar.next(), entries < 10_000 {
                    entries += 1
                    try applier.apply(entry, from: tar)
                }
                try applier.endLayer()
            } catch {
                refused += 1
            }
            close(rootFD)
            let beside = try FileManager.default.contentsOfDirectory(atPath: sandbox)
            #expect(beside == ["root"], "an unpack wrote outside its root: \(beside)")
        }
        print("fuzz image tar/gzip: \(refused) inputs refused cleanly")
    }

    @Test func manifestDocumentsDecodeOrFailCleanly() throws {
        let corpus = Fuzzer.corpus("image").filter { $0.first == UInt8(ascii: "{") || $0.first == UInt8(ascii: "[") }
        #expect(corpus.count >= 3, "the JSON seeds are missing")
        var fuzzer = Fuzzer(corpus: corpus)
        let layout = NSTemporaryDirectory() + "airlock-fuzz-layout-\(getpid())"
        defer { ImageStore.removeTree(layout) }
        try FileManager.default.createDirectory(atPath: layout + "/blobs/sha256", withIntermediateDirectories: true)
        var decoded = 0
        for _ in 0..<max(Fuzzer.iterations / 4, 50) {
            let input = fuzzer.next()
            for name in ["index.json", "manifest.json"] {
                try? FileManager.default.removeItem(atPath: layout + "/index.json")
                try? FileManager.default.removeItem(atPath: layout + "/manifest.json")
                try Data(input).write(to: URL(fileURLWithPath: layout + "/" + name))
                let source = try DirectoryBlobSource(directory: layout)
                if (try? ManifestResolver(source: source, limits: ImageLimits(), tag: nil).resolve()) != nil { decoded += 1 }
            }
        }
        // Nothing resolves without its blobs; the point is that nothing crashed.
        #expect(decoded == 0)
    }
}
