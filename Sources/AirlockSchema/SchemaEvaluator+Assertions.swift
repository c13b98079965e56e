import AirlockModels

/// The validation vocabulary: keywords that look at the instance itself.
extension SchemaEvaluator {
    func assertions(_ instance: JSONValue, _ schema: [String: JSONValue], _ context: Context,
                    _ outcome: inout SchemaOutcome) {
        let path = context.path
        let at = { (keyword: String) in context.keyword + "/" + keyword }
        if let type = schema["type"] {
            let names = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue].compactMap { $0 }
            if !names.contains(where: instance.hasSchemaType) {
                outcome.fail(path, at("type"),
                             "must be \(names.joined(separator: " or ")), got \(instance.schemaTypeName)")
            }
        }
        if let expected = schema["const"], !instance.jsonEquals(expected) {
            outcome.fail(path, at("const"), "must be \(expected.canonicalText)")
        }
        if case .array(let allowed)? = schema["enum"], !allowed.contains(where: instance.jsonEquals) {
            outcome.fail(path, at("enum"),
                         "must be one of \(allowed.map(\.canonicalText).joined(separator: ", ")), got \(instance.canonicalText)")
        }
        switch instance {
        case .int, .double: numeric(instance, schema, path, at, &outcome)
        case .string(let text): string(text, schema, path, at, &outcome)
        case .array(let items): counts(items.count, schema, "minItems", "maxItems", "items", path, at, &outcome)
            if schema["uniqueItems"] == .bool(true), let duplicate = firstDuplicate(items) {
                outcome.fail(path, at("uniqueItems"), "items \(duplicate.0) and \(duplicate.1) are equal; items must be unique")
            }
        case .object(let members):
            counts(members.count, schema, "minProperties", "maxProperties", "properties", path, at, &outcome)
            required(members, schema, path, at, &outcome)
        default: break
        }
    }

    private func numeric(_ instance: JSONValue, _ schema: [String: JSONValue], _ path: String,
                         _ at: (String) -> String, _ outcome: inout SchemaOutcome) {
        guard let number = instance.numberValue else { return }
        if let limit = schema["minimum"]?.numberValue, number < limit {
            outcome.fail(path, at("minimum"), "must be at least \(limit.schemaText), got \(instance.canonicalText)")
        }
        if let limit = schema["maximum"]?.numberValue, number > limit {
            outcome.fail(path, at("maximum"), "must be at most \(limit.schemaText), got \(instance.canonicalText)")
        }
        if let limit = schema["exclusiveMinimum"]?.numberValue, number <= limit {
            outcome.fail(path, at("exclusiveMinimum"), "must be greater than \(limit.schemaText), got \(instance.canonicalText)")
        }
        if let limit = schema["exclusiveMaximum"]?.numberValue, number >= limit {
            outcome.fail(path, at("exclusiveMaximum"), "must be less than \(limit.schemaText), got \(instance.canonicalText)")
        }
        if let divisor = schema["multipleOf"], !isMultiple(instance, of: divisor) {
            outcome.fail(path, at("multipleOf"), "must be a multiple of \(divisor.canonicalText)")
        }
    }

    private func isMultiple(_ value: JSONValue, of divisor: JSONValue) -> Bool {
        if case .int(let int) = value, case .int(let step) = divisor, step != 0 { return int % step == 0 }
        guard let number = value.numberValue, let step = divisor.numberValue, step > 0 else { return true }
        let quotient = number / step
        guard quotient.isFinite else { return false }
        return abs(quotient - quotient.rounded()) < 1e-9 * max(1, abs(quotient))
    }

    private func string(_ text: String, _ schema: [String: JSONValue], _ path: String,
                        _ at: (String) -> String, _ outcome: inout SchemaOutcome) {
        let length = text.unicodeScalars.count
        if let minimum = schema["minLength"]?.intValue, length < minimum {
            outcome.fail(path, at("minLength"), text.isEmpty ? "must not be empty"
                         : "must be at least \(minimum) characters long, got \(length)")
        }
        if let maximum = schema["maxLength"]?.intValue, length > maximum {
            outcome.fail(path, at("maxLength"), "must be at most \(maximum) characters long, got \(length)")
        }
        if case .string(let pattern)? = schema["pattern"], let compiled = registry.patterns[pattern],
           !compiled.matches(text) {
            outcome.fail(path, at("pattern"), "must match the pattern \(pattern)")
        }
    }

    private func counts(_ count: Int, _ schema: [String: JSONValue], _ minKey: String, _ maxKey: String,
                        _ noun: String, _ path: String, _ at: (String) -> String, _ outcome: inout SchemaOutcome) {
        if let minimum = schema[minKey]?.intValue, count < minimum {
            outcome.fail(path, at(minKey), "must have at least \(minimum) \(noun), got \(count)")
        }
        if let maximum = schema[maxKey]?.intValue, count > maximum {
            outcome.fail(path, at(maxKey), "must have at most \(maximum) \(noun), got \(count)")
        }
    }

    private func required(_ members: [String: JSONValue], _ schema: [String: JSONValue], _ path: String,
                          _ at: (String) -> String, _ outcome: inout SchemaOutcome) {
        if case .array(let names)? = schema["required"] {
            for name in names.compactMap(\.stringValue) where members[name] == nil {
                outcome.fail(path, at("required"), "missing required field \"\(name)\"")
            }
        }
        if case .object(let dependencies)? = schema["dependentRequired"] {
            for (trigger, needed) in dependencies.sorted(by: { $0.key < $1.key }) where members[trigger] != nil {
                for name in (needed.arrayValue ?? []).compactMap(\.stringValue) where members[name] == nil {
                    outcome.fail(path, at("dependentRequired"), "field \"\(name)\" is required when \"\(trigger)\" is present")
                }
            }
        }
    }

    private func firstDuplicate(_ items: [JSONValue]) -> (Int, Int)? {
        for first in items.indices {
            for second in items.indices where second > first && items[first].jsonEquals(items[second]) {
                return (first, second)
            }
        }
        return nil
    }
}

extension Double {
    var schemaText: String {
        rounded() == self && abs(self) < 1e15 ? String(Int(self)) : String(self)
    }
}
