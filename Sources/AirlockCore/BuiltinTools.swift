import AirlockModels

/// The tools the model sees (DESIGN.md §3). Their schemas are the single source of truth:
/// `ToolCallValidator` checks calls against these, not against hand-written rules.
public enum BuiltinTools {
    public static let shell = ToolSpec(
        name: "shell",
        description: """
            Run a shell command with /bin/sh -c inside the sandbox, in /workspace. Returns the \
            exit status and the combined stdout and stderr (long output is truncated). The \
            sandbox has no network unless the policy allows it.
            """,
        parameters: schema(properties: [
            "command": .object(["type": .string("string"), "minLength": .int(1),
                                "description": .string("The command line, e.g. `ls -la` or `swift test 2>&1 | tail`.")]),
            "timeout_s": .object(["type": .string("integer"), "minimum": .int(1), "maximum": .int(86400),
                                  "description": .string("Seconds before the command is killed (capped by the run's call timeout).")]),
        ], required: ["command"]))

    public static let readFile = ToolSpec(
        name: "read_file",
        description: "Read a UTF-8 text file. Paths are relative to /workspace.",
        parameters: schema(properties: ["path": pathProperty("The file to read.")], required: ["path"]))

    public static let writeFile = ToolSpec(
        name: "write_file",
        description: "Create or overwrite a file with the given content, creating parent directories.",
        parameters: schema(properties: [
            "path": pathProperty("The file to write."),
            "content": .object(["type": .string("string"), "description": .string("The whole new content of the file.")]),
        ], required: ["path", "content"]))

    public static let editFile = ToolSpec(
        name: "edit_file",
        description: """
            Replace the exact text `old` with `new` in a file. `old` must occur exactly once; \
            include enough surrounding lines to make it unique.
            """,
        parameters: schema(properties: [
            "path": pathProperty("The file to edit."),
            "old": .object(["type": .string("string"), "minLength": .int(1), "description": .string("The text to replace, exactly as in the file.")]),
            "new": .object(["type": .string("string"), "description": .string("The replacement text.")]),
        ], required: ["path", "old", "new"]))

    public static let listFiles = ToolSpec(
        name: "list_files",
        description: "List the entries of a directory (names, types and sizes). Defaults to the workspace root.",
        parameters: schema(properties: [
            "path": pathProperty("The directory to list; default \".\"."),
        ], required: []))

    public static let submit = ToolSpec(
        name: "submit",
        description: "Finish the task and give the final answer. Ends the run; call it once, when done.",
        parameters: schema(properties: [
            "answer": .object(["type": .string("string"), "description": .string("The final answer or a summary of what was done.")]),
        ], required: ["answer"]))

    public static let specs: [ToolSpec] = [shell, readFile, writeFile, editFile, listFiles, submit]

    public static var names: [String] { specs.map(\.name) }

    public static func spec(named name: String) -> ToolSpec? {
        specs.first { $0.name == name }
    }

    static func schema(properties: [String: JSONValue], required: [String]) -> JSONValue {
        .object([
            "type": .string("object"),
            "properties": .object(properties),
            "required": .array(required.map(JSONValue.string)),
            "additionalProperties": .bool(false),
        ])
    }

    static func pathProperty(_ description: String) -> JSONValue {
        .object(["type": .string("string"), "minLength": .int(1),
                 "description": .string(description + " Relative to /workspace.")])
    }
}
