import AirlockModels
import AirlockSchema

/// Checks a proposed tool call against the built-in tools' schemas and turns it into a
/// `ValidToolCall`. Every refusal is a value with a message the model can act on.
public enum ToolCallValidator {
    /// The built-in tools' schemas, compiled once by the full 2020-12 validator.
    static let builtinSchemas: [String: JSONSchema] = Dictionary(uniqueKeysWithValues: BuiltinTools.specs.compactMap { spec in
        (try? JSONSchema(spec.parameters)).map { (spec.name, $0) }
    })

    public static func validate(_ call: ToolCall, declared: [DeclaredTool] = [],
                                provided: [ProvidedTool] = []) -> Result<ValidToolCall, ToolCallProblem> {
        if let tool = declared.first(where: { $0.name == call.name }) { return validate(call, tool) }
        if let tool = provided.first(where: { $0.spec.name == call.name }) { return validate(call, tool) }
        guard let spec = BuiltinTools.spec(named: call.name) else {
            let names = BuiltinTools.names + declared.map(\.name) + provided.map(\.spec.name)
            return .failure(ToolCallProblem(
                kind: .unknownTool, tool: call.name,
                message: "unknown tool \"\(call.name)\"; the tools are: \(names.joined(separator: ", "))"))
        }
        let arguments: JSONValue
        switch parseArguments(call.arguments, tool: spec.name) {
        case .success(let value): arguments = value
        case .failure(let problem): return .failure(problem)
        }
        if let violation = SchemaValidator.validate(arguments, against: spec.parameters) {
            return .failure(ToolCallProblem(
                kind: violation.kind, tool: spec.name, field: violation.path.isEmpty ? nil : violation.path,
                message: "\(spec.name): \(violation.message). Expected arguments: \(signature(of: spec))"))
        }
        // The subset above words the usual mistakes for the model; the full validator is the
        // backstop, so nothing a schema forbids crosses even if the subset misses it.
        if let schema = builtinSchemas[spec.name], let problem = problem(spec, schema.validate(arguments)) {
            return .failure(problem)
        }
        return typed(spec.name, arguments)
    }

    /// Parses the arguments text. Repairs two harmless slips: empty text means `{}`, and a
    /// JSON string holding a JSON object (double encoding) means that object.
    public static func parseArguments(_ text: String, tool: String) -> Result<JSONValue, ToolCallProblem> {
        guard !text.allSatisfy(\.isWhitespace) else { return .success(.object([:])) }
        let value: JSONValue
        do {
            value = try JSONValue(parsing: text)
        } catch {
            return .failure(ToolCallProblem(kind: .invalidJSON, tool: tool,
                                            message: "\(tool): the arguments are not valid JSON: \(error)"))
        }
        if case .string(let inner) = value, case .object(let object)? = try? JSONValue(parsing: inner) {
            return .success(.object(object))
        }
        return .success(value)
    }

    /// `{"command": string, "timeout_s"?: integer}`: a compact reminder for the model.
    public static func signature(of spec: ToolSpec) -> String {
        guard case .object(let properties)? = spec.parameters["properties"] else { return "{}" }
        let required = Set((spec.parameters["required"].flatMap { value -> [JSONValue]? in
            if case .array(let items) = value { return items }
            return nil
        } ?? []).compactMap(\.stringValue))
        let fields = properties.keys.sorted { lhs, rhs in
            required.contains(lhs) != required.contains(rhs) ? required.contains(lhs) : lhs < rhs
        }.map { name in
            "\"\(name)\"\(required.contains(name) ? "" : "?"): \(properties[name]?["type"]?.stringValue ?? "any")"
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }

    /// Builds the typed call from arguments that already passed the schema.
    static func typed(_ name: String, _ arguments: JSONValue) -> Result<ValidToolCall, ToolCallProblem> {
        func string(_ key: String) -> String? { arguments[key]?.stringValue }
        let call: ValidToolCall?
        switch name {
        case "shell": call = string("command").map { .shell(command: $0, timeoutSeconds: arguments["timeout_s"]?.intValue) }
        case "read_file": call = string("path").map { .readFile(path: $0) }
        case "write_file":
            call = string("path").flatMap { path in string("content").map { .writeFile(path: path, content: $0) } }
        case "edit_file":
            if let path = string("path"), let old = string("old"), let new = string("new") {
                call = .editFile(path: path, old: old, new: new)
            } else {
                call = nil
            }
        case "list_files": call = .listFiles(path: string("path") ?? ".")
        case "submit": call = string("answer").map { .submit(answer: $0) }
        default: call = nil
        }
        guard let call else {
            return .failure(ToolCallProblem(kind: .wrongType, tool: name,
                                            message: "\(name): the arguments do not fit the tool"))
        }
        return .success(call)
    }
}
