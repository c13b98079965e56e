import AirlockModels

/// In-place applicators: subschemas that apply to the same instance location, whose
/// annotations count for `unevaluated*`.
extension SchemaEvaluator {
    func applicators(_ instance: JSONValue, _ schema: [String: JSONValue], _ context: Context,
                     _ outcome: inout SchemaOutcome) {
        if case .array(let subschemas)? = schema["allOf"] {
            for (index, subschema) in subschemas.enumerated() {
                outcome.absorb(evaluate(instance, subschema, sub(context, "allOf/\(index)")))
            }
        }
        if case .array(let subschemas)? = schema["anyOf"] {
            let results = subschemas.enumerated().map { evaluate(instance, $1, sub(context, "anyOf/\($0)")) }
            let passed = results.filter(\.isValid)
            if passed.isEmpty {
                outcome.fail(context.path, context.keyword + "/anyOf",
                             "must match at least one of \(subschemas.count) schemas (anyOf); " + closest(results))
            }
            for result in passed { outcome.merge(annotationsOf: result) }
        }
        if case .array(let subschemas)? = schema["oneOf"] {
            let results = subschemas.enumerated().map { evaluate(instance, $1, sub(context, "oneOf/\($0)")) }
            let passed = results.indices.filter { results[$0].isValid }
            if passed.count == 1 {
                outcome.merge(annotationsOf: results[passed[0]])
            } else if passed.isEmpty {
                outcome.fail(context.path, context.keyword + "/oneOf",
                             "must match exactly one of \(subschemas.count) schemas (oneOf), matches none; " + closest(results))
            } else {
                outcome.fail(context.path, context.keyword + "/oneOf",
                             "must match exactly one of \(subschemas.count) schemas (oneOf), matches \(passed.count): \(passed.map { String($0) })")
            }
        }
        if let negated = schema["not"], evaluate(instance, negated, sub(context, "not")).isValid {
            outcome.fail(context.path, context.keyword + "/not", "must not match the schema under \"not\"")
        }
        if let condition = schema["if"] {
            let test = evaluate(instance, condition, sub(context, "if"))
            if test.isValid {
                outcome.merge(annotationsOf: test)
                if let then = schema["then"] { outcome.absorb(evaluate(instance, then, sub(context, "then"))) }
            } else if let otherwise = schema["else"] {
                outcome.absorb(evaluate(instance, otherwise, sub(context, "else")))
            }
        }
        if case .object(let members) = instance, case .object(let dependents)? = schema["dependentSchemas"] {
            for (trigger, subschema) in dependents.sorted(by: { $0.key < $1.key }) where members[trigger] != nil {
                outcome.absorb(evaluate(instance, subschema, sub(context, "dependentSchemas/" + JSONPointer.escape(trigger))))
            }
        }
    }

    /// The failures of the branch that came closest, so a refusal of `anyOf` still says
    /// something the caller can act on.
    private func closest(_ results: [SchemaOutcome]) -> String {
        // A branch of the right type that failed on a detail says more than one of the wrong type.
        func score(_ outcome: SchemaOutcome) -> Int {
            outcome.failures.count + (outcome.failures.contains { $0.keyword.hasSuffix("/type") } ? 1000 : 0)
        }
        guard let best = results.min(by: { score($0) < score($1) }), !best.failures.isEmpty else {
            return "no branch matched"
        }
        return "closest: " + best.failures.prefix(3).map(\.description).joined(separator: "; ")
    }
}
