import AirlockModels
import Foundation

/// A compiled JSON Schema (draft 2020-12): `$ref`/`$defs`/`$anchor`/`$dynamicRef`, the
/// applicators, the validation keywords and `unevaluated*`. `format` and the content
/// keywords are annotations (they never refuse a value), as the specification's default
/// says. Compiling checks the schema against the 2020-12 meta-schema, every pattern and
/// every static `$ref`, so a schema that cannot work is refused before any instance is seen.
public struct JSONSchema: Sendable {
    public static let draft202012 = "https://json-schema.org/draft/2020-12/schema"
    static let validationVocabulary = "https://json-schema.org/draft/2020-12/vocab/validation"
    /// Where a schema without `$id` lives; relative references resolve against it.
    static let defaultBase = SchemaURI(parsing: "urn:airlock:schema")

    public let document: JSONValue
    let registry: SchemaRegistry
    let base: SchemaURI
    let validationOff: Bool

    /// The meta-schemas, indexed once for every schema in the process.
    static let metaRegistry: SchemaRegistry = {
        var registry = SchemaRegistry()
        for (uri, text) in MetaSchemas.documents {
            guard let document = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) else { continue }
            registry.add(document, at: SchemaURI(parsing: uri))
        }
        return registry
    }()

    /// - Parameters:
    ///   - resources: other documents by absolute URI that `$ref`s may name (nothing is
    ///     ever fetched from the network).
    ///   - checkMetaSchema: validate the schema against the 2020-12 meta-schema first.
    public init(_ document: JSONValue, resources: [String: JSONValue] = [:], checkMetaSchema: Bool = true) throws(SchemaProblem) {
        switch document {
        case .object, .bool: break
        default: throw SchemaProblem("a schema must be a JSON object or a boolean, got \(document.schemaTypeName)")
        }
        var registry = Self.metaRegistry
        for (uri, resource) in resources.sorted(by: { $0.key < $1.key }) {
            registry.add(resource, at: SchemaURI(parsing: uri))
        }
        registry.add(document, at: Self.defaultBase)
        if let id = document["$id"]?.stringValue, SchemaURI(parsing: id).fragment.map({ !$0.isEmpty }) == true {
            throw SchemaProblem("$id \"\(id)\" must not carry a fragment")
        }
        if let bad = registry.badPatterns.first {
            throw SchemaProblem("the pattern \"\(bad)\" is not a valid regular expression")
        }
        self.document = document
        self.registry = registry
        self.base = Self.defaultBase
        self.validationOff = Self.vocabularyDisablesValidation(document, registry)
        if checkMetaSchema, document["$schema"]?.stringValue ?? Self.draft202012 == Self.draft202012 {
            let failures = SchemaEvaluator(registry: Self.metaRegistry)
                .evaluate(document, .object(["$ref": .string(Self.draft202012)]), Self.rootContext(Self.defaultBase))
                .failures
            if !failures.isEmpty { throw SchemaProblem("not a valid draft 2020-12 schema", details: failures) }
        }
        if let unresolved = Self.firstUnresolvedReference(document, base: Self.defaultBase, registry) {
            throw SchemaProblem("the reference \"\(unresolved)\" does not resolve to any schema")
        }
    }

    /// Every failure, in a stable order; empty when the instance is valid.
    public func validate(_ instance: JSONValue) -> [SchemaFailure] {
        evaluator(registry: registry).evaluate(instance, document, Self.rootContext(base)).failures
    }

    public func isValid(_ instance: JSONValue) -> Bool { validate(instance).isEmpty }

    func evaluator(registry: SchemaRegistry) -> SchemaEvaluator {
        var evaluator = SchemaEvaluator(registry: registry)
        evaluator.validationOff = validationOff
        return evaluator
    }

    static func rootContext(_ base: SchemaURI) -> SchemaEvaluator.Context {
        SchemaEvaluator.Context(base: base, scope: [base], path: "", keyword: "", depth: 0)
    }

    /// A custom meta-schema whose `$vocabulary` leaves out the validation vocabulary turns
    /// the validation keywords off.
    private static func vocabularyDisablesValidation(_ document: JSONValue, _ registry: SchemaRegistry) -> Bool {
        guard let meta = document["$schema"]?.stringValue, meta != draft202012,
              let located = registry.resolve(SchemaURI(parsing: meta)),
              case .object(let vocabularies)? = located.node["$vocabulary"]
        else { return false }
        return vocabularies[validationVocabulary] == nil
    }
}
