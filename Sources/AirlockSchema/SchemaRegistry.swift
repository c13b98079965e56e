import AirlockModels
import Foundation

/// A subschema found by URI, with the base URI that applies inside it.
struct LocatedSchema: Sendable {
    var node: JSONValue
    var base: SchemaURI
}

/// Every schema resource (`$id`), anchor (`$anchor`, `$dynamicAnchor`) and pattern of a
/// compiled schema and the documents it may reference, found once when the schema is
/// compiled so validation never parses or searches.
struct SchemaRegistry: Sendable {
    var resources: [String: LocatedSchema] = [:]
    var anchors: [String: LocatedSchema] = [:]
    /// `resource#name` for every `$dynamicAnchor`.
    var dynamicAnchors: Set<String> = []
    var patterns: [String: SchemaPattern] = [:]
    var badPatterns: [String] = []

    /// Keywords whose value is one subschema, an array of them, or an object of them. Only
    /// these are searched: a `$id` inside `enum` or an unknown keyword names nothing.
    static let single: Set<String> = [
        "items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema",
    ]
    static let arrays: Set<String> = ["allOf", "anyOf", "oneOf", "prefixItems"]
    static let maps: Set<String> = ["$defs", "definitions", "properties", "patternProperties", "dependentSchemas"]

    mutating func add(_ document: JSONValue, at uri: SchemaURI) {
        walk(document, base: uri.withoutFragment, isRoot: true)
    }

    private mutating func walk(_ node: JSONValue, base: SchemaURI, isRoot: Bool) {
        guard case .object(let members) = node else {
            if isRoot { resources[base.description] = LocatedSchema(node: node, base: base) }
            return
        }
        var base = base
        if case .string(let id)? = members["$id"] {
            let retrieved = base
            base = base.resolving(id).withoutFragment
            resources[base.description] = LocatedSchema(node: node, base: base)
            // A document is also found by the URI it was loaded from.
            if isRoot { resources[retrieved.description] = LocatedSchema(node: node, base: base) }
        } else if isRoot {
            resources[base.description] = LocatedSchema(node: node, base: base)
        }
        if case .string(let anchor)? = members["$anchor"] {
            anchors[base.description + "#" + anchor] = LocatedSchema(node: node, base: base)
        }
        if case .string(let anchor)? = members["$dynamicAnchor"] {
            anchors[base.description + "#" + anchor] = LocatedSchema(node: node, base: base)
            dynamicAnchors.insert(base.description + "#" + anchor)
        }
        if case .string(let pattern)? = members["pattern"] { compile(pattern) }
        if case .object(let patterned)? = members["patternProperties"] {
            for pattern in patterned.keys { compile(pattern) }
        }
        for (key, value) in members {
            if Self.single.contains(key) {
                walk(value, base: base, isRoot: false)
            } else if Self.arrays.contains(key), case .array(let items) = value {
                for item in items { walk(item, base: base, isRoot: false) }
            } else if Self.maps.contains(key), case .object(let entries) = value {
                for entry in entries.values { walk(entry, base: base, isRoot: false) }
            }
        }
    }

    private mutating func compile(_ pattern: String) {
        guard patterns[pattern] == nil else { return }
        if let compiled = SchemaPattern(pattern) {
            patterns[pattern] = compiled
        } else {
            badPatterns.append(pattern)
        }
    }

    /// The subschema an absolute URI names: a resource, an anchor, or a JSON pointer into a
    /// resource (which may cross embedded resources, changing the base as it goes).
    func resolve(_ uri: SchemaURI) -> LocatedSchema? {
        let resource = uri.withoutFragment.description
        guard let fragment = uri.fragment, !fragment.isEmpty else { return resources[resource] }
        guard fragment.hasPrefix("/") else { return anchors[resource + "#" + fragment] }
        guard var located = resources[resource] else { return nil }
        let decoded = fragment.removingPercentEncoding ?? fragment
        for token in decoded.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            let key = JSONPointer.unescape(token)
            switch located.node {
            case .object(let members):
                guard let child = members[key] else { return nil }
                located.node = child
            case .array(let items):
                guard let index = Int(key), items.indices.contains(index) else { return nil }
                located.node = items[index]
            default: return nil
            }
            if case .string(let id)? = located.node["$id"] {
                located.base = located.base.resolving(id).withoutFragment
            }
        }
        return located
    }
}

/// A compiled `pattern`. ICU's engine (through NSRegularExpression) is close enough to
/// ECMA-262 for schema patterns; it is immutable once built and safe to share.
struct SchemaPattern: @unchecked Sendable {
    let expression: NSRegularExpression

    init?(_ pattern: String) {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return nil }
        self.expression = expression
    }

    func matches(_ text: String) -> Bool {
        expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }
}
