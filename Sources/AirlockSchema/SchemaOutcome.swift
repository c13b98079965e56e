/// What evaluating one subschema against one instance location gives: failures, and the
/// annotations `unevaluatedProperties` / `unevaluatedItems` need (which members and items
/// some successful subschema looked at).
struct SchemaOutcome: Sendable {
    var failures: [SchemaFailure] = []
    var properties: Set<String> = []
    var items: Set<Int> = []
    var allItems = false

    var isValid: Bool { failures.isEmpty }

    /// Takes another subschema's failures, and its annotations when it succeeded (a failed
    /// subschema's annotations are dropped, as the specification requires).
    mutating func absorb(_ other: SchemaOutcome) {
        failures += other.failures
        if other.isValid { merge(annotationsOf: other) }
    }

    mutating func merge(annotationsOf other: SchemaOutcome) {
        properties.formUnion(other.properties)
        items.formUnion(other.items)
        allItems = allItems || other.allItems
    }

    mutating func fail(_ path: String, _ keyword: String, _ message: String) {
        failures.append(SchemaFailure(instancePath: path, keyword: keyword, message: message))
    }
}
