import AirlockImages
import ArgumentParser
import Foundation

struct ImageInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Show an image: digest, layers, size, Env, WorkingDir, User, created.")

    @Argument(help: "A name, a digest, or a unique digest prefix.")
    var name: String

    @Flag(name: .long, help: "Print it as one JSON object.")
    var json = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = ImageStore(stateDirectory: state.directory().path)
            let image: StoredImage
            let names: [String]
            do {
                image = try store.find(name)
                names = try store.readNames().filter { $0.value == image.digest }.map(\.key).sorted()
            } catch let error as ImageError {
                throw CLIError(error.description, code: 2)
            }
            if json {
                Output.line(ImageJSON.detail(image, names: names, rootfs: store.rootfs(image.digest)))
                return
            }
            Output.line("digest:      \(image.digest)")
            Output.line("names:       \(names.isEmpty ? "<none>" : names.joined(separator: ", "))")
            Output.line("config:      \(image.configDigest)")
            Output.line("created:     \(image.created ?? "-")")
            Output.line("arch:        \(image.architecture ?? "-")")
            Output.line("size:        \(ByteCount.text(image.size)) in \(image.entries) entries")
            Output.line("user:        \(image.user ?? "(root)")" + (image.uid.map { " → uid \($0) gid \(image.gid ?? $0)" } ?? " (not in the image's /etc/passwd)"))
            Output.line("workdir:     \(image.workingDirectory ?? "(/workspace)")")
            Output.line("entrypoint:  \(image.entrypoint?.joined(separator: " ") ?? "-")  (metadata only)")
            Output.line("cmd:         \(image.command?.joined(separator: " ") ?? "-")  (metadata only)")
            Output.line("source:      \(image.source)")
            Output.line("rootfs:      \(store.rootfs(image.digest))")
            Output.line("env:")
            for entry in image.environment { Output.line("  \(entry)") }
            Output.line("layers:")
            for layer in image.layers { Output.line("  \(layer.digest)  \(ByteCount.text(layer.size))") }
        }
    }
}

struct ImageRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove a name; the image goes when no name is left on it.")

    @Argument(help: "Names or digests.")
    var names: [String]

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = ImageStore(stateDirectory: state.directory().path)
            for name in names {
                do {
                    if let removed = try store.remove(name) {
                        Output.line("removed \(name) (\(removed))")
                    } else {
                        Output.line("untagged \(name) (other names still use the image)")
                    }
                } catch let error as ImageError {
                    throw CLIError(error.description, code: 2)
                }
            }
        }
    }
}

struct ImagePruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Remove unnamed images, dead imports and leftover sandbox roots.")

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = ImageStore(stateDirectory: state.directory().path)
            do {
                let removed = try store.prune()
                for item in removed { Output.line("removed \(item)") }
                Output.line("\(removed.count) removed")
            } catch let error as ImageError {
                throw CLIError(error.description)
            }
        }
    }
}

/// The JSON forms of `image ls` and `image inspect`.
enum ImageJSON {
    static func summary(_ image: StoredImage, names: [String]) -> String {
        encode([
            "digest": image.digest.description, "names": names, "layers": image.layers.count, "size": image.size,
            "created": opt(image.created), "source": image.source,
        ])
    }

    static func detail(_ image: StoredImage, names: [String], rootfs: String) -> String {
        encode([
            "digest": image.digest.description, "names": names, "config": image.configDigest.description,
            "layers": image.layers.map { ["digest": $0.digest.description, "diff_id": $0.diffID.description, "size": $0.size] },
            "size": image.size, "entries": image.entries, "env": image.environment,
            "working_dir": opt(image.workingDirectory), "user": opt(image.user),
            "uid": opt(image.uid.map { Int($0) }), "gid": opt(image.gid.map { Int($0) }),
            "entrypoint": opt(image.entrypoint), "cmd": opt(image.command), "created": opt(image.created),
            "architecture": opt(image.architecture), "source": image.source, "rootfs": rootfs,
        ])
    }

    private static func opt<T>(_ value: T?) -> Any { value.map { $0 as Any } ?? NSNull() }

    private static func encode(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
