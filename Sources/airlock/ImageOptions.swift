import AirlockImages
import AirlockSandbox
import ArgumentParser
import Foundation

/// `--image REF` and `--image-root` for `run` and `exec`.
struct ImageOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "The sandbox's root file system: oci:DIR[:TAG], docker-archive:FILE, dir:PATH, or a name from `airlock image ls`. Imported into the store on first use. Default: the host's read-only /usr.",
        valueName: "ref"))
    var image: String?

    @Option(name: .long, help: ArgumentHelp(
        "How an image sandbox's writes to / are kept from the shared tree, all thrown away at the end: overlay (the default; a root harness only, else copy), copy (a private copy of the tree) or read-only.",
        valueName: "mode"))
    var imageRoot: String?

    func validate() throws {
        if let imageRoot, ImageRoot.WritableRoot(rawValue: imageRoot) == nil {
            throw ValidationError("--image-root takes overlay, copy or read-only, got '\(imageRoot)'")
        }
    }

    /// The sandbox root: the host's, or the image (imported into the store if needed).
    func root(stateDirectory: String, progress: Bool) throws -> SandboxRoot {
        // Checked here, not in validate(): `run` may take the image from airlock.yaml.
        guard let image else {
            if imageRoot != nil { throw CLIError("--image-root needs an image (--image, or image: in airlock.yaml)", code: 2) }
            return .host
        }
        let writable = imageRoot.flatMap(ImageRoot.WritableRoot.init(rawValue:)) ?? .overlay
        return try Self.resolve(image, stateDirectory: stateDirectory, writable: writable, progress: progress)
    }

    static func resolve(_ text: String, stateDirectory: String, writable: ImageRoot.WritableRoot,
                        progress: Bool) throws -> SandboxRoot {
        let store = ImageStore(stateDirectory: stateDirectory)
        do {
            let reference = try ImageReference(parsing: text)
            if case .directory(let path) = reference {
                let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
                return .image(ImageRoot(rootfs: absolute, digest: "dir:" + absolute, writable: .readOnly, uid: 0, gid: 0))
            }
            var importer = ImageImporter(store: store)
            if progress, isatty(STDERR_FILENO) == 1 { importer.progress = ImportProgress.printer(reference.description) }
            let stored = try importer.importImage(reference)
            return .image(root(for: stored, store: store, writable: writable))
        } catch {
            throw CLIError("--image \(text): \(error.description)", code: 2)
        }
    }

    static func root(for image: StoredImage, store: ImageStore, writable: ImageRoot.WritableRoot) -> ImageRoot {
        store.sandboxRoot(for: image, writable: writable)
    }

    /// The image a recorded run used, from the store by digest (resume, replay).
    static func recorded(_ runStarted: JSONValue, stateDirectory: String) throws -> SandboxRoot {
        guard let recorded = SandboxRoot.recordedImage(runStarted) else { return .host }
        if recorded.digest.hasPrefix("dir:") {
            let path = String(recorded.digest.dropFirst(4))
            return .image(ImageRoot(rootfs: path, digest: recorded.digest, writable: .readOnly, uid: 0, gid: 0))
        }
        let store = ImageStore(stateDirectory: stateDirectory)
        do {
            let digest = try Digest(recorded.digest)
            return .image(root(for: try store.metadata(digest), store: store, writable: recorded.writable))
        } catch {
            throw CLIError("the run used image \(recorded.digest): \(error.description)", code: 2)
        }
    }
}

import AirlockCore
import AirlockModels
