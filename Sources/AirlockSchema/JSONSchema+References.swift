import AirlockModels

extension JSONSchema {
    /// The first `$ref` (static; `$dynamicRef` falls back to it) whose target is missing,
    /// found by walking the same subschema keywords the registry indexes.
    static func firstUnresolvedReference(_ node: JSONValue, base: SchemaURI, _ registry: SchemaRegistry) -> String? {
        guard case .object(let members) = node else { return nil }
        var base = base
        if case .string(let id)? = members["$id"] { base = base.resolving(id).withoutFragment }
        for key in ["$ref", "$dynamicRef"] {
            if case .string(let ref)? = members[key], registry.resolve(base.resolving(ref)) == nil { return ref }
        }
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            var children: [JSONValue] = []
            if SchemaRegistry.single.contains(key) {
                children = [value]
            } else if SchemaRegistry.arrays.contains(key) {
                children = value.arrayValue ?? []
            } else if SchemaRegistry.maps.contains(key) {
                children = value.objectValue.map { $0.sorted { $0.key < $1.key }.map(\.value) } ?? []
            }
            for child in children {
                if let missing = firstUnresolvedReference(child, base: base, registry) { return missing }
            }
        }
        return nil
    }
}
