import Foundation
import AirlockModels
import AirlockSchema

extension ToolCallValidator {
    /// A declared tool's call: full JSON Schema validation, then the argv rules.
    static func validate(_ call: ToolCall, _ tool: DeclaredTool) -> Result<ValidToolCall, ToolCallProblem> {
        let arguments: JSONValue
        switch parseArguments(call.arguments, tool: tool.name) {
        case .success(let value): arguments = value
        case .failure(let problem): return .failure(problem)
        }
        if let problem = problem(tool.spec, tool.schema.validate(arguments)) { return .failure(problem) }
        switch tool.command(for: arguments) {
        case .failure(let problem): return .failure(problem)
        case .success(let argv):
            return .success(.declared(DeclaredCall(tool: tool.name, arguments: arguments, argv: argv, workdir: tool.workdir,
                                                   env: tool.env, timeoutSeconds: tool.timeoutSeconds, readOnly: tool.readOnly)))
        }
    }

    /// A provided tool's call: its own schema, compiled when it was listed.
    static func validate(_ call: ToolCall, _ tool: ProvidedTool) -> Result<ValidToolCall, ToolCallProblem> {
        switch parseArguments(call.arguments, tool: tool.spec.name) {
        case .failure(let problem): return .failure(problem)
        case .success(let arguments):
            if let problem = problem(tool.spec, tool.schema.validate(arguments)) { return .failure(problem) }
            return .success(.provided(ProvidedCall(tool: tool.spec.name, arguments: arguments)))
        }
    }

    /// The refusal for schema failures: the first one decides the kind; all are listed
    /// (a few) so the model can fix them in one go.
    static func problem(_ spec: ToolSpec, _ failures: [SchemaFailure]) -> ToolCallProblem? {
        guard let first = failures.first else { return nil }
        let keyword = first.keyword.split(separator: "/").last.map(String.init) ?? ""
        let kind: ToolCallProblem.Kind
        switch keyword {
        case "required", "dependentRequired": kind = .missingField
        case "additionalProperties", "unevaluatedProperties", "propertyNames": kind = .unknownField
        case "type": kind = first.instancePath.isEmpty ? .notAnObject : .wrongType
        case "enum", "const", "pattern", "not", "format": kind = .notAllowed
        case "minLength" where first.message == "must not be empty": kind = .emptyValue
        case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems",
             "maxItems", "minProperties", "maxProperties", "multipleOf": kind = .outOfRange
        default: kind = .wrongType
        }
        let field = first.instancePath.isEmpty ? nil
            : first.instancePath.dropFirst().replacingOccurrences(of: "/", with: ".")
        let listed = failures.prefix(4).map(\.description).joined(separator: "; ")
        return ToolCallProblem(kind: kind, tool: spec.name, field: field,
                               message: "\(spec.name): \(listed). Expected arguments: \(signature(of: spec))")
    }
}
