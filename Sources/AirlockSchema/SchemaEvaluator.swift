import AirlockModels

/// Walks a schema against an instance (JSON Schema draft 2020-12 semantics). One value per
/// validation; the dynamic scope (resources entered so far, outermost first) travels down
/// the recursion for `$dynamicRef`.
struct SchemaEvaluator {
    static let maxDepth = 256

    let registry: SchemaRegistry
    /// Vocabularies switched off by a custom meta-schema's `$vocabulary` (by keyword group).
    var validationOff = false

    struct Context {
        var base: SchemaURI
        var scope: [SchemaURI]
        var path: String
        var keyword: String
        var depth: Int
        /// Set when a reference landed here: `base` already includes this schema's `$id`.
        var baseIsResolved = false
    }

    func evaluate(_ instance: JSONValue, _ schema: JSONValue, _ context: Context) -> SchemaOutcome {
        var outcome = SchemaOutcome()
        switch schema {
        case .bool(true): return outcome
        case .bool(false):
            outcome.fail(context.path, context.keyword, "no value is allowed here")
            return outcome
        case .object(let members):
            guard context.depth < Self.maxDepth else {
                outcome.fail(context.path, context.keyword, "the schema recurses deeper than \(Self.maxDepth) levels")
                return outcome
            }
            var context = context
            context.depth += 1
            let baseIsResolved = context.baseIsResolved
            context.baseIsResolved = false
            if !baseIsResolved, case .string(let id)? = members["$id"] {
                context.base = context.base.resolving(id).withoutFragment
                if context.scope.last != context.base { context.scope.append(context.base) }
            }
            references(instance, members, context, &outcome)
            if !validationOff { assertions(instance, members, context, &outcome) }
            applicators(instance, members, context, &outcome)
            switch instance {
            case .object(let object): objectKeywords(object, members, context, &outcome)
            case .array(let items): arrayKeywords(items, members, context, &outcome)
            default: break
            }
            return outcome
        default:
            outcome.fail(context.path, context.keyword, "the schema here is neither an object nor a boolean")
            return outcome
        }
    }

    func sub(_ context: Context, _ keyword: String) -> Context {
        var copy = context
        copy.keyword = context.keyword + "/" + keyword
        return copy
    }

    func child(_ context: Context, _ keyword: String, path: String) -> Context {
        var copy = sub(context, keyword)
        copy.path = path
        return copy
    }

    private func references(_ instance: JSONValue, _ members: [String: JSONValue], _ context: Context,
                            _ outcome: inout SchemaOutcome) {
        if case .string(let ref)? = members["$ref"] {
            follow(context.base.resolving(ref), instance, sub(context, "$ref"), &outcome)
        }
        if case .string(let ref)? = members["$dynamicRef"] {
            let uri = context.base.resolving(ref)
            follow(dynamicTarget(uri, context) ?? uri, instance, sub(context, "$dynamicRef"), &outcome)
        }
    }

    /// `$dynamicRef`: when the statically resolved target carries a matching
    /// `$dynamicAnchor`, the outermost resource in the dynamic scope that declares that
    /// anchor wins.
    private func dynamicTarget(_ uri: SchemaURI, _ context: Context) -> SchemaURI? {
        guard let name = uri.fragment, !name.isEmpty, !name.hasPrefix("/"),
              let initial = registry.resolve(uri), initial.node["$dynamicAnchor"]?.stringValue == name
        else { return nil }
        for resource in context.scope where registry.dynamicAnchors.contains(resource.description + "#" + name) {
            var target = resource
            target.fragment = name
            return target
        }
        return nil
    }

    private func follow(_ uri: SchemaURI, _ instance: JSONValue, _ context: Context, _ outcome: inout SchemaOutcome) {
        guard let target = registry.resolve(uri) else {
            outcome.fail(context.path, context.keyword, "the reference \(uri) does not resolve")
            return
        }
        var inner = context
        inner.base = target.base
        inner.baseIsResolved = true
        if inner.scope.last != target.base { inner.scope.append(target.base) }
        outcome.absorb(evaluate(instance, target.node, inner))
    }
}
