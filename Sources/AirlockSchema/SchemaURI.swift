/// A URI reference split per RFC 3986, with the reference resolution of §5.2. Written here
/// because Foundation's `URL` refuses or rewrites some forms schemas use (`urn:`, `tag:`,
/// bare fragments) and identifiers are compared as strings.
struct SchemaURI: Sendable, Hashable, CustomStringConvertible {
    var scheme: String?
    var authority: String?
    var path: String
    var query: String?
    var fragment: String?

    init(parsing text: String) {
        var rest = Substring(text)
        if let hash = rest.firstIndex(of: "#") {
            fragment = String(rest[rest.index(after: hash)...])
            rest = rest[..<hash]
        }
        if let question = rest.firstIndex(of: "?") {
            query = String(rest[rest.index(after: question)...])
            rest = rest[..<question]
        }
        if let colon = rest.firstIndex(of: ":"),
           let first = rest.first, first.isLetter,
           rest[..<colon].allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }) {
            scheme = String(rest[..<colon])
            rest = rest[rest.index(after: colon)...]
        }
        if rest.hasPrefix("//") {
            rest = rest.dropFirst(2)
            let end = rest.firstIndex(of: "/") ?? rest.endIndex
            authority = String(rest[..<end])
            rest = rest[end...]
        }
        path = String(rest)
    }

    var description: String {
        var text = ""
        if let scheme { text += scheme + ":" }
        if let authority { text += "//" + authority }
        text += path
        if let query { text += "?" + query }
        if let fragment { text += "#" + fragment }
        return text
    }

    /// The URI without its fragment: what names a schema resource.
    var withoutFragment: SchemaURI {
        var copy = self
        copy.fragment = nil
        return copy
    }

    /// Resolves `reference` against this base (RFC 3986 §5.2.2).
    func resolving(_ reference: String) -> SchemaURI {
        let ref = SchemaURI(parsing: reference)
        var target = SchemaURI(parsing: "")
        if ref.scheme != nil {
            target = ref
            target.path = Self.removeDotSegments(ref.path)
            return target
        }
        target.scheme = scheme
        if ref.authority != nil {
            target.authority = ref.authority
            target.path = Self.removeDotSegments(ref.path)
            target.query = ref.query
        } else {
            target.authority = authority
            if ref.path.isEmpty {
                target.path = path
                target.query = ref.query ?? query
            } else {
                target.path = ref.path.hasPrefix("/") ? Self.removeDotSegments(ref.path)
                    : Self.removeDotSegments(merge(ref.path))
                target.query = ref.query
            }
        }
        target.fragment = ref.fragment
        return target
    }

    private func merge(_ relative: String) -> String {
        if authority != nil && path.isEmpty { return "/" + relative }
        guard let slash = path.lastIndex(of: "/") else { return relative }
        return String(path[...slash]) + relative
    }

    static func removeDotSegments(_ input: String) -> String {
        guard input.contains(".") else { return input }
        var output: [Substring] = []
        let segments = input.split(separator: "/", omittingEmptySubsequences: false)
        for (index, segment) in segments.enumerated() {
            let last = index == segments.count - 1
            switch segment {
            case ".": if last { output.append("") }
            case "..":
                if output.count > 1 || (output.count == 1 && !output[0].isEmpty) { output.removeLast() }
                if last { output.append("") }
            default: output.append(segment)
            }
        }
        var text = output.joined(separator: "/")
        if input.hasPrefix("/") && !text.hasPrefix("/") { text = "/" + text }
        return text
    }
}
