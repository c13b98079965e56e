import AirlockTestSupport
import Foundation
@testable import AirlockImages

/// Rewrites of a written layout: the manifest and index are re-hashed so that only the
/// one lie under test remains.
extension HostileLayerTests {
    static func rewriteDiffID(_ layout: String) throws {
        try rewrite(layout) { manifest, blobs in
            var config = manifest["config"] as? [String: Any] ?? [:]
            let configPath = blobs + "/" + String((config["digest"] as? String ?? "").dropFirst(7))
            var document = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as? [String: Any] ?? [:]
            document["rootfs"] = ["type": "layers", "diff_ids": ["sha256:" + String(repeating: "ab", count: 32)]]
            let bytes = ImageFixture.json(document)
            let digest = ImageFixture.sha256(bytes)
            try Data(bytes).write(to: URL(fileURLWithPath: blobs + "/" + digest.dropFirst(7)))
            config["digest"] = digest
            config["size"] = bytes.count
            manifest["config"] = config
        }
    }

    static func replaceLayerBlob(_ layout: String, with blob: [UInt8]) throws {
        try rewrite(layout) { manifest, blobs in
            var layers = manifest["layers"] as? [[String: Any]] ?? []
            let digest = ImageFixture.sha256(blob)
            try Data(blob).write(to: URL(fileURLWithPath: blobs + "/" + digest.dropFirst(7)))
            layers[0]["digest"] = digest
            layers[0]["size"] = blob.count
            manifest["layers"] = layers
        }
    }

    private static func rewrite(_ layout: String, _ change: (inout [String: Any], String) throws -> Void) throws {
        let blobs = layout + "/blobs/sha256"
        let indexURL = URL(fileURLWithPath: layout + "/index.json")
        var index = try JSONSerialization.jsonObject(with: Data(contentsOf: indexURL)) as? [String: Any] ?? [:]
        var manifests = index["manifests"] as? [[String: Any]] ?? []
        let manifestPath = blobs + "/" + String((manifests[0]["digest"] as? String ?? "").dropFirst(7))
        var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath))) as? [String: Any] ?? [:]
        try change(&manifest, blobs)
        let bytes = ImageFixture.json(manifest)
        let digest = ImageFixture.sha256(bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: blobs + "/" + digest.dropFirst(7)))
        manifests[0]["digest"] = digest
        manifests[0]["size"] = bytes.count
        index["manifests"] = manifests
        try Data(ImageFixture.json(index)).write(to: indexURL)
    }
}
