/// `airlock exec`'s common forms, read from argv without ArgumentParser.
///
/// `exec` is the command run once per sandbox, so its start-up is part of every call.
/// ArgumentParser builds its view of a command by reflecting over the property wrappers,
/// and each new generic type it meets costs the Swift runtime a scan of every protocol
/// conformance in the executable: 3.8 → 1.3 ms of each `exec` in the full `airlock`
/// (measured; docs/benchmarks.md), and `airlock-exec` has no ArgumentParser at all. This path takes only what it can decide alone — known long options
/// with valid values, `--`, a command — and declines everything else (help, images,
/// networks, Kubernetes, any error), which `ExecCommand` then parses and words as always.
/// Values go through the same `ArgumentValues` functions as the declared options', and a
/// test holds the two parsers to the same result.
public enum ExecFastPath {
    /// The invocation, or nil when `ExecCommand` must parse `arguments` (those after `exec`).
    public static func parse(_ arguments: [String]) -> ExecInvocation? {
        var invocation = ExecInvocation()
        var seen: Set<String> = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                invocation.command = Array(arguments[index...])
                break
            }
            if argument == "--json" {
                guard seen.insert(argument).inserted else { return nil }
                invocation.json = true
                continue
            }
            // Every other option takes a value, as the next argument.
            guard index < arguments.count, !arguments[index].hasPrefix("-") else { return nil }
            let value = arguments[index]
            index += 1
            if argument != "--env" { guard seen.insert(argument).inserted else { return nil } }
            switch argument {
            case "--workspace": invocation.workspace = value
            case "--sandbox":
                // Kubernetes takes its own options and a registry image: ExecCommand's path.
                guard let tier = SandboxTier(rawValue: value), tier != .kubernetes else { return nil }
                invocation.tier = tier
            case "--memory":
                guard let bytes = ArgumentValues.bytes(value) else { return nil }
                invocation.memoryBytes = bytes
            case "--pids":
                guard let pids = Int(value), pids >= 1 else { return nil }
                invocation.pids = pids
            case "--cpus":
                guard let cpus = Double(value), cpus > 0 else { return nil }
                invocation.cpus = cpus
            case "--timeout":
                guard let milliseconds = ArgumentValues.milliseconds(value) else { return nil }
                invocation.timeoutMs = milliseconds
            case "--tmp-size":
                guard let bytes = ArgumentValues.bytes(value) else { return nil }
                invocation.tmpSizeBytes = bytes
            case "--env":
                guard value.contains("=") else { return nil }
                invocation.environment.append(value)
            default:
                return nil
            }
        }
        return invocation.command.isEmpty ? nil : invocation
    }
}
