import AirlockImages
import ArgumentParser
import Foundation

/// `airlock image`: the store of unpacked images under the state dir.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Import, list, inspect and remove the images sandboxes run on.",
        discussion: """
        Images live unpacked in the state dir (images/sha256/<manifest digest>/), once per \
        digest, shared read-only by every sandbox that uses them; never mounted themselves \
        into a sandbox. REF forms: oci:DIR[:TAG] (an OCI image layout directory), \
        docker-archive:FILE (`docker save` / `podman save` output), and, for run and exec \
        only, dir:PATH (an unpacked tree used in place).

        Examples:
          airlock image import oci:./busybox-layout:latest --name busybox
          airlock image import docker-archive:python.tar --name py
          airlock image ls --json
          airlock exec --image busybox -- sh -c 'cat /etc/os-release'
        """,
        subcommands: [ImageImportCommand.self, ImageListCommand.self, ImageInspectCommand.self,
                      ImageRemoveCommand.self, ImagePruneCommand.self, ImageGuestCommand.self]
    )
}

struct ImageImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Verify and unpack an image into the store.",
        discussion: """
        Every blob is checked against its sha256 before it is parsed and every layer against \
        the config's diff_ids; layers are unpacked by Airlock's own unpacker (no symlink is \
        ever followed, no device node created, set-uid bits dropped) into a private work \
        directory that enters the store only when whole. Limits (--limit NAME=VALUE): \
        \(ImageLimits.Name.allCases.map(\.rawValue).joined(separator: ", ")); sizes take K/M/G.
        """
    )

    @Argument(help: "oci:DIR[:TAG] or docker-archive:FILE.")
    var reference: String

    @Option(name: .long, help: "Name in the store (default: from the REF).")
    var name: String?

    @Option(name: .long, help: ArgumentHelp("Raise or lower a limit, e.g. layer-uncompressed=32G (repeatable).", valueName: "name=value"))
    var limit: [String] = []

    @Flag(name: .long, help: "Print the imported image as JSON.")
    var json = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = ImageStore(stateDirectory: state.directory().path)
            var importer = ImageImporter(store: store, limits: try Self.limits(limit))
            do {
                let reference = try ImageReference(parsing: reference)
                if !json, isatty(STDERR_FILENO) == 1 { importer.progress = ImportProgress.printer(reference.description) }
                let image = try importer.importImage(reference, name: name)
                let chosen = name ?? reference.defaultName
                if json {
                    Output.line(ImageJSON.summary(image, names: [chosen]))
                } else {
                    Output.line("imported \(image.digest) as \(chosen) (\(image.layers.count) layers, \(ByteCount.text(image.size)))")
                }
            } catch let error as ImageError {
                throw CLIError(error.description, code: error.kind == .reference ? 2 : 1)
            }
        }
    }

    static func limits(_ entries: [String]) throws -> ImageLimits {
        var limits = ImageLimits()
        for entry in entries {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let name = ImageLimits.Name(rawValue: parts[0]) else {
                throw CLIError("--limit takes NAME=VALUE with NAME one of \(ImageLimits.Name.allCases.map(\.rawValue).joined(separator: ", "))", code: 2)
            }
            guard let value = ByteSize(argument: parts[1])?.bytes, value > 0 else {
                throw CLIError("--limit \(entry): the value must be a positive number (K/M/G suffix for sizes)", code: 2)
            }
            limits[name] = value
        }
        return limits
    }
}

struct ImageListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the images in the store.")

    @Flag(name: .long, help: "One JSON object per image, one per line.")
    var json = false

    @OptionGroup var state: StateOptions

    func run() async throws {
        try await Output.guarded {
            let store = ImageStore(stateDirectory: state.directory().path)
            let images: [(image: StoredImage, names: [String])]
            do { images = try store.list() } catch let error as ImageError { throw CLIError(error.description) }
            if json {
                for entry in images { Output.line(ImageJSON.summary(entry.image, names: entry.names)) }
                return
            }
            if images.isEmpty {
                Output.line("no images (import one with `airlock image import REF`)")
                return
            }
            Output.line("NAME".padding(toLength: 28, withPad: " ", startingAt: 0) + "DIGEST        LAYERS  SIZE      CREATED")
            for (image, names) in images {
                let label = names.isEmpty ? "<none>" : names.joined(separator: ",")
                Output.line(label.padding(toLength: 27, withPad: " ", startingAt: 0) + " " + image.digest.short + "  "
                            + String(image.layers.count).padding(toLength: 6, withPad: " ", startingAt: 0) + "  "
                            + ByteCount.text(image.size).padding(toLength: 8, withPad: " ", startingAt: 0) + "  "
                            + (image.created ?? "-"))
            }
        }
    }
}
