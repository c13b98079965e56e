import AirlockProtocol
import CAirlockSys
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Runs one command in its own process group and streams its output as frames.
///
/// One poll(2) loop watches stdout, stderr, the child's pidfd, the cancel pipe and the
/// deadline. Output past the cap is read and dropped so the child never blocks on a full
/// pipe. On timeout or cancel the group gets SIGTERM, then SIGKILL after the grace period.
struct ExecRunner {
    let id: UInt64
    let request: ExecRequest
    let workspace: String
    let writer: FrameWriter
    let cancelFD: Int32
    var feed: StdinFeed? = nil

    static let defaultPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
    static let chunkSize = 64 * 1024

    func run() {
        let started = Monotonic.nowMs()
        guard let argv = resolvedArgv() else {
            writer.fail(id, "bad_request", "exec needs a non-empty argv or a shell string")
            return
        }
        // No env in the request: the guest's own, which the sandbox built from nothing.
        let env = request.env ?? Self.inheritedEnvironment()
        guard let program = Self.lookUp(argv[0], path: env["PATH"] ?? Self.defaultPath) else {
            writer.send(id, .stderr(OutputChunk(data: Data("\(argv[0]): command not found\n".utf8))))
            writer.send(id, .exit(ExitStatus(code: 127, signal: nil, usage: ResourceUsage(
                wallMs: Monotonic.nowMs() - started, userCpuMs: 0, systemCpuMs: 0, maxRssKB: 0))))
            return
        }
        let cwd = resolvedCwd()

        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1], inPipe: [Int32] = [-1, -1]
        guard airlock_pipe(&outPipe, O_CLOEXEC) == 0, airlock_pipe(&errPipe, O_CLOEXEC) == 0,
              airlock_pipe(&inPipe, O_CLOEXEC) == 0 else {
            writer.fail(id, "spawn_failed", "pipe: \(String(cString: strerror(errno)))")
            return
        }
        let envStrings = env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let spawnError = withCStrings(argv) { cArgv in
            withCStrings(envStrings) { cEnv in
                program.withCString { cPath in
                    cwd.withCString { cCwd in
                        let map: [Int32] = [inPipe[0], 0, outPipe[1], 1, errPipe[1], 2]
                        return map.withUnsafeBufferPointer { mapBuffer in
                            var options = airlock_spawn_options()
                            options.path = cPath
                            options.argv = cArgv
                            options.envp = cEnv
                            options.cwd = cCwd
                            options.fd_map = mapBuffer.baseAddress
                            options.fd_map_count = 3
                            options.new_process_group = 1
                            return airlock_spawn(&options, &pid)
                        }
                    }
                }
            }
        }
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        if spawnError != 0 {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            let reason = String(cString: strerror(spawnError))
            writer.send(id, .stderr(OutputChunk(data: Data("\(argv[0]): \(reason)\n".utf8))))
            writer.send(id, .exit(ExitStatus(code: spawnError == ENOENT ? 127 : 126, signal: nil,
                usage: ResourceUsage(wallMs: Monotonic.nowMs() - started, userCpuMs: 0,
                                     systemCpuMs: 0, maxRssKB: 0))))
            return
        }
        var loop = ExecLoop(id: id, pid: pid, writer: writer, cancelFD: cancelFD,
                            stdoutFD: outPipe[0], stderrFD: errPipe[0], stdinFD: inPipe[1],
                            stdin: request.stdin ?? Data(), feed: feed,
                            cap: request.outputCap ?? ProtocolVersion.defaultOutputCap,
                            started: started,
                            deadline: request.timeoutMs.map { started + Double($0) },
                            graceMs: Double(request.killGraceMs ?? 500))
        writer.send(id, .exit(loop.run()))
    }

    private func resolvedArgv() -> [String]? {
        if let argv = request.argv, !argv.isEmpty { return argv }
        if let shell = request.shell { return ["/bin/sh", "-c", shell] }
        return nil
    }

    private func resolvedCwd() -> String {
        guard let cwd = request.cwd, !cwd.isEmpty else { return workspace }
        return cwd.hasPrefix("/") ? cwd : workspace + "/" + cwd
    }

    static func inheritedEnvironment() -> [String: String] {
        var env: [String: String] = [:]
        var cursor = environ
        while let entry = cursor.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                env[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            cursor += 1
        }
        if env["PATH"] == nil { env["PATH"] = defaultPath }
        return env
    }

    static func lookUp(_ name: String, path: String) -> String? {
        if name.contains("/") { return name }
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return body(pointers)
}
