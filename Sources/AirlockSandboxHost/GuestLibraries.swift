#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// The host's dynamic loader and the shared libraries the guest needs, for a sandbox whose
/// root is an image (which may have no glibc, or another one): they are bound in beside the
/// guest, and the guest starts through that loader with `--library-path`, so nothing of
/// the image's own libraries is touched and commands the guest runs use the image's.
public struct GuestLibraries: Sendable, Hashable {
    /// Host path of the loader (`/lib64/ld-linux-x86-64.so.2`).
    package var loader: String
    /// Host paths of the libraries, loader excluded.
    package var libraries: [String]

    /// nil values are static guests: asked once too (ldd is a process start).
    private static let cache = Mutex<[String: GuestLibraries?]>([:])

    /// Read from `ldd` once per guest binary; nil for a fully static guest.
    package static func resolve(_ guest: String) throws(SandboxErrorProxy) -> GuestLibraries? {
        if let known = cache.withLock({ $0[guest] }) { return known }
        guard let ldd = ExecutableLookup.find("ldd"), let output = ExecutableLookup.output(ldd, [guest]) else {
            throw SandboxErrorProxy("cannot list the guest's libraries (ldd \(guest))")
        }
        if output.contains("not a dynamic executable") || output.contains("statically linked") {
            cache.withLock { $0[guest] = .some(nil) }
            return nil
        }
        var loader: String?
        var libraries: [String] = []
        for line in output.split(separator: "\n") {
            let fields = line.split(whereSeparator: \.isWhitespace)
            if let arrow = fields.firstIndex(of: "=>"), arrow + 1 < fields.count, fields[arrow + 1].hasPrefix("/") {
                libraries.append(String(fields[arrow + 1]))
            } else if let first = fields.first, first.hasPrefix("/") {
                loader = String(first)
            }
        }
        guard let loader else { throw SandboxErrorProxy("ldd named no loader for \(guest)") }
        let found = GuestLibraries(loader: loader, libraries: libraries)
        cache.withLock { $0[guest] = .some(found) }
        return found
    }
}

/// A message for a SandboxError the caller builds (this file needs no AirlockSandbox import).
package struct SandboxErrorProxy: Error {
    package var message: String
    init(_ message: String) { self.message = message }
}
