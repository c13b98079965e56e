import AirlockModels

/// Child applicators of objects and arrays, then `unevaluatedProperties` and
/// `unevaluatedItems`, which must run after everything else has annotated.
extension SchemaEvaluator {
    func objectKeywords(_ members: [String: JSONValue], _ schema: [String: JSONValue], _ context: Context,
                        _ outcome: inout SchemaOutcome) {
        let properties = schema["properties"]?.objectValue ?? [:]
        let patterned = (schema["patternProperties"]?.objectValue ?? [:]).sorted { $0.key < $1.key }
        for (name, value) in members.sorted(by: { $0.key < $1.key }) {
            let path = JSONPointer.append(context.path, name)
            var matched = false
            if let subschema = properties[name] {
                matched = true
                outcome.failures += evaluate(value, subschema, child(context, "properties/" + JSONPointer.escape(name), path: path)).failures
            }
            for (pattern, subschema) in patterned where registry.patterns[pattern]?.matches(name) == true {
                matched = true
                outcome.failures += evaluate(value, subschema, child(context, "patternProperties/" + JSONPointer.escape(pattern), path: path)).failures
            }
            if matched {
                outcome.properties.insert(name)
            } else if let extra = schema["additionalProperties"] {
                let result = evaluate(value, extra, child(context, "additionalProperties", path: path))
                if extra == .bool(false) {
                    outcome.fail(path, context.keyword + "/additionalProperties",
                                 "unknown field \"\(name)\"" + known(properties))
                } else {
                    outcome.failures += result.failures
                }
                outcome.properties.insert(name)
            }
            if let names = schema["propertyNames"] {
                let result = evaluate(.string(name), names, child(context, "propertyNames", path: path))
                if !result.isValid {
                    outcome.fail(path, context.keyword + "/propertyNames", "the field name \"\(name)\" is not allowed: "
                                 + result.failures.map(\.message).joined(separator: "; "))
                }
            }
        }
        if let unevaluated = schema["unevaluatedProperties"] {
            for (name, value) in members.sorted(by: { $0.key < $1.key }) where !outcome.properties.contains(name) {
                let path = JSONPointer.append(context.path, name)
                let result = evaluate(value, unevaluated, child(context, "unevaluatedProperties", path: path))
                if unevaluated == .bool(false) {
                    outcome.fail(path, context.keyword + "/unevaluatedProperties", "unknown field \"\(name)\"" + known(properties))
                } else {
                    outcome.failures += result.failures
                }
            }
            outcome.properties.formUnion(members.keys)
        }
    }

    private func known(_ properties: [String: JSONValue]) -> String {
        properties.isEmpty ? "" : "; the fields are: " + properties.keys.sorted().joined(separator: ", ")
    }

    func arrayKeywords(_ items: [JSONValue], _ schema: [String: JSONValue], _ context: Context,
                       _ outcome: inout SchemaOutcome) {
        var next = 0
        if case .array(let prefix)? = schema["prefixItems"] {
            for (index, subschema) in prefix.enumerated() where index < items.count {
                let path = JSONPointer.append(context.path, index)
                outcome.failures += evaluate(items[index], subschema, child(context, "prefixItems/\(index)", path: path)).failures
                outcome.items.insert(index)
            }
            next = min(prefix.count, items.count)
        }
        if let rest = schema["items"] {
            for index in next..<max(next, items.count) {
                let path = JSONPointer.append(context.path, index)
                outcome.failures += evaluate(items[index], rest, child(context, "items", path: path)).failures
            }
            outcome.allItems = true
        }
        if let contains = schema["contains"] {
            var matches = 0
            for (index, item) in items.enumerated()
            where evaluate(item, contains, child(context, "contains", path: JSONPointer.append(context.path, index))).isValid {
                matches += 1
                outcome.items.insert(index)
            }
            let minimum = validationOff ? 1 : (schema["minContains"]?.intValue ?? 1)
            if matches < minimum {
                outcome.fail(context.path, context.keyword + "/contains",
                             minimum == 1 ? "must contain at least one item matching the schema under \"contains\""
                                 : "must contain at least \(minimum) items matching \"contains\", got \(matches)")
            }
            if !validationOff, let maximum = schema["maxContains"]?.intValue, matches > maximum {
                outcome.fail(context.path, context.keyword + "/maxContains",
                             "must contain at most \(maximum) items matching \"contains\", got \(matches)")
            }
        }
        if let unevaluated = schema["unevaluatedItems"], !outcome.allItems {
            for index in items.indices where !outcome.items.contains(index) {
                let path = JSONPointer.append(context.path, index)
                outcome.failures += evaluate(items[index], unevaluated, child(context, "unevaluatedItems", path: path)).failures
            }
            outcome.allItems = true
        }
    }
}
