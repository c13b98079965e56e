import AirlockKubernetes
import ArgumentParser

/// `airlock image guest -o FILE`: the guest image for the kubernetes tier, as an OCI archive.
struct ImageGuestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guest",
        abstract: "Write the guest image the kubernetes tier's pods copy the guest from.",
        discussion: """
        The image holds /airlock/airlock-guest (this build's guest) and, when it is dynamically \
        linked, its loader and libraries under /airlock/lib, so the sandbox's own image needs \
        neither a shell nor glibc. The file is an OCI image layout in one tar: load it with \
        `skopeo copy oci-archive:FILE docker://REGISTRY/airlock-guest:TAG` (then pass \
        --guest-image), or on a node `ctr -n k8s.io images import FILE`.

        Example:
          airlock image guest -o airlock-guest.tar
        """
    )

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the archive.", valueName: "file"))
    var output: String

    @Option(name: .long, help: ArgumentHelp("The reference recorded in the archive (default: \(GuestImage.defaultReference)).", valueName: "ref"))
    var reference: String = GuestImage.defaultReference

    func run() async throws {
        try await Output.guarded {
            do { try GuestImage.write(to: output, reference: reference) } catch {
                throw CLIError("\(error)", code: 1)
            }
            Output.line("wrote \(reference) to \(output)")
        }
    }
}
