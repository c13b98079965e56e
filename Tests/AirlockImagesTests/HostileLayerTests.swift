import AirlockTestSupport
import Foundation
import Glibc
import Testing
@testable import AirlockImages

/// Every hostile layer from the issue, imported for real: each must be refused with a
/// clear error, leave no image and no work dir in the store, and write nothing outside
/// (a victim directory the layers aim at stays empty).
@Suite struct HostileLayerTests {
    struct Outcome {
        var error: ImageError?
        var victimEntries: [String]
        var storeImages: Int
        var workDirs: [String]
    }

    /// Imports a layout with `layers` (after `prepare` may tamper with it) and reports.
    static func attempt(_ label: String, limits: ImageLimits = ImageLimits(), gzip: Bool = true,
                        layers: (String) -> [[UInt8]],
                        tamperManifest: ((inout [String: Any]) -> Void)? = nil,
                        afterWrite: ((String) throws -> Void)? = nil) throws -> Outcome {
        let fixture = try ImageFixture(label)
        defer { fixture.remove() }
        let victim = fixture.directory + "/victim"
        try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
        let state = NSTemporaryDirectory() + "airlock-hostile-\(UUID().uuidString.prefix(8))"
        defer { ImageStore.removeTree(state) }
        let layout = try fixture.writeLayout("layout", layers: layers(victim), gzipLayers: gzip, tamper: tamperManifest)
        try afterWrite?(layout.path)
        let store = ImageStore(stateDirectory: state)
        var caught: ImageError?
        do {
            _ = try ImageImporter(store: store, limits: limits).importImage(.ociLayout(directory: layout.path, tag: nil), name: "x")
        } catch {
            caught = error
        }
        return Outcome(error: caught,
                       victimEntries: (try? FileManager.default.contentsOfDirectory(atPath: victim)) ?? ["<victim gone>"],
                       storeImages: (try? store.list().count) ?? -1,
                       workDirs: (try? FileManager.default.contentsOfDirectory(atPath: store.directory + "/tmp")) ?? [])
    }

    static func expectRefused(_ outcome: Outcome, mentioning text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(outcome.error != nil, "the import must fail", sourceLocation: sourceLocation)
        let message = outcome.error?.description ?? ""
        #expect(message.contains(text), "error '\(message)' should mention '\(text)'", sourceLocation: sourceLocation)
        #expect(outcome.victimEntries.isEmpty, "written outside: \(outcome.victimEntries)", sourceLocation: sourceLocation)
        #expect(outcome.storeImages == 0, "a partial image was left", sourceLocation: sourceLocation)
        #expect(outcome.workDirs.isEmpty, "a work dir was left: \(outcome.workDirs)", sourceLocation: sourceLocation)
    }

    static func layer(_ build: (inout TarBuilder) -> Void) -> [UInt8] {
        var tar = TarBuilder()
        build(&tar)
        return tar.archive
    }

    @Test func dotDotNamesAreRefused() throws {
        let outcome = try Self.attempt("dotdot") { victim in
            [Self.layer { $0.file("a/../../../../../../../../.." + victim + "/pwned", "x") }]
        }
        Self.expectRefused(outcome, mentioning: "climbs out")
    }

    @Test func aFileWrittenThroughAnAbsoluteSymlinkIsRefused() throws {
        let outcome = try Self.attempt("abslink") { victim in
            [Self.layer { $0.symlink("evil", to: victim); $0.file("evil/pwned", "x") }]
        }
        Self.expectRefused(outcome, mentioning: "symlink")
    }

    @Test func aSymlinkSwappedInForADirectoryIsRefused() throws {
        let outcome = try Self.attempt("swap") { victim in
            [Self.layer { $0.directory("d/"); $0.file("d/a", "fine") },
             Self.layer { $0.symlink("d", to: victim); $0.file("d/b", "x") }]
        }
        Self.expectRefused(outcome, mentioning: "symlink")
    }

    @Test func hardLinksOutOfTheTreeAreRefused() throws {
        let climbing = try Self.attempt("hardlink-up") { _ in
            [Self.layer { $0.hardLink("h", to: "../../../../../../../../etc/passwd") }]
        }
        Self.expectRefused(climbing, mentioning: "climbs out")
        let absolute = try Self.attempt("hardlink-abs") { victim in
            [Self.layer { $0.hardLink("h", to: victim + "/../victim-target") }]
        }
        Self.expectRefused(absolute, mentioning: "not in the image")
    }

    @Test func theRootAsASymlinkIsRefused() throws {
        for name in [".", "./", "/"] {
            let outcome = try Self.attempt("rootlink") { victim in
                [Self.layer { $0.symlink(name, to: victim); $0.file("pwned", "x") }]
            }
            Self.expectRefused(outcome, mentioning: "image root")
        }
    }

    @Test func deviceNodesAreRefused() throws {
        let outcome = try Self.attempt("device") { _ in
            [Self.layer { $0.entry("etc/sda", .blockDevice); $0.entry("mem", .charDevice) }]
        }
        Self.expectRefused(outcome, mentioning: "device node")
    }

    @Test func aDigestMismatchIsRefused() throws {
        let outcome = try Self.attempt("mismatch", layers: { _ in [Self.layer { $0.file("a", "original") }] },
                                       afterWrite: { layout in
            // Corrupt the one layer blob in place (the largest blob that is not JSON).
            let blobs = layout + "/blobs/sha256"
            for name in try FileManager.default.contentsOfDirectory(atPath: blobs) {
                let path = blobs + "/" + name
                var data = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
                if data.first == 0x1f {
                    data[data.count / 2] ^= 0xff
                    try Data(data).write(to: URL(fileURLWithPath: path))
                }
            }
        })
        Self.expectRefused(outcome, mentioning: "digest mismatch")
    }

    @Test func aTraversingDigestIsRefused() throws {
        let outcome = try Self.attempt("digestpath", layers: { _ in [Self.layer { $0.file("a", "x") }] },
                                       tamperManifest: { manifest in
            var layers = manifest["layers"] as? [[String: Any]] ?? []
            layers[0]["digest"] = "sha256:../../../../../../etc/passwd"
            manifest["layers"] = layers
        })
        Self.expectRefused(outcome, mentioning: "malformed")
    }

    @Test func aDiffIDMismatchIsRefused() throws {
        // An uncompressed layer whose blob digest is right, then the config lies about it.
        let outcome = try Self.attempt("diffid", gzip: true, layers: { _ in [Self.layer { $0.file("a", "x") }] },
                                       afterWrite: { layout in
            // Re-point the config's diff_id: rewrite the config blob and the manifest.
            try Self.rewriteDiffID(layout)
        })
        Self.expectRefused(outcome, mentioning: "diff_id mismatch")
    }

    @Test func aTruncatedGzipStreamIsRefused() throws {
        let fixture = try ImageFixture("trunc")
        defer { fixture.remove() }
        var tar = TarBuilder()
        tar.file("big", data: [UInt8]((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }))
        let gz = try ImageFixture.gzip(tar.archive)
        let truncated = Array(gz.prefix(gz.count / 2))
        // The descriptor matches the truncated bytes: only the gzip reader can notice.
        let outcome = try Self.attempt("trunc", layers: { _ in [tar.archive] }, afterWrite: { layout in
            try Self.replaceLayerBlob(layout, with: truncated)
        })
        Self.expectRefused(outcome, mentioning: "truncated")
    }

    @Test func aDecompressionBombStopsAtTheLimit() throws {
        var limits = ImageLimits()
        limits[.layerUncompressed] = 8 << 20
        let outcome = try Self.attempt("bomb", limits: limits) { _ in
            [Self.layer { $0.file("zeros", data: [UInt8](repeating: 0, count: 64 << 20)) }]
        }
        Self.expectRefused(outcome, mentioning: "layer-uncompressed limit")
        #expect(outcome.error?.fix?.contains("--limit layer-uncompressed=") == true)
    }

    @Test func countlessTinyEntriesStopAtTheEntryLimit() throws {
        var limits = ImageLimits()
        limits[.layerEntries] = 1000
        let outcome = try Self.attempt("entries", limits: limits) { _ in
            [Self.layer { tar in for index in 0..<5000 { tar.file("f\(index)", "") } }]
        }
        Self.expectRefused(outcome, mentioning: "layer-entries limit")
    }
}
