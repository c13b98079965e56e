/// Why an image could not be imported or used: a message that names the problem and,
/// where there is one, the fix. A fault, never a partial result: a failed import leaves
/// nothing behind.
public struct ImageError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        /// The REF or a name is malformed, or the image is not found.
        case reference
        /// The input is corrupt, malicious or not an image Airlock understands.
        case invalid
        /// A size or count limit was reached.
        case limit
        /// A host file system operation failed.
        case io
    }

    public var kind: Kind
    public var message: String
    public var fix: String?

    public init(_ kind: Kind, _ message: String, fix: String? = nil) {
        self.kind = kind
        self.message = message
        self.fix = fix
    }

    public var description: String {
        fix.map { "\(message) (\($0))" } ?? message
    }

    static func io(_ what: String, _ errorNumber: Int32) -> ImageError {
        ImageError(.io, "\(what): \(String(cString: strerror(errorNumber)))")
    }
}

import Glibc
