import AirlockProtocol
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// The result of one exec, collected. Output is capped here too, whatever the guest sends.
public struct ExecResult: Sendable, Hashable {
    public var status: ExitStatus
    public var stdout: Data
    public var stderr: Data

    public init(status: ExitStatus, stdout: Data, stderr: Data) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

public enum OutputStream: String, Sendable { case stdout, stderr }

extension GuestConnection {
    /// Runs a command and collects its output, streaming chunks to `onOutput` as they come.
    /// Throws when the sandbox died or the guest broke the protocol; a failing command is
    /// an `ExitStatus`, not an error. Cancelling the task cancels the command in the guest.
    /// Past `deadline` the command is cancelled too and the call throws `.deadlinePassed`
    /// without waiting for the guest: a guest that does not answer cannot hold the caller.
    public func exec(_ request: ExecRequest, deadline: ContinuousClock.Instant? = nil,
                     onOutput: (@Sendable (OutputStream, Data) -> Void)? = nil) async throws(SandboxError) -> ExecResult {
        let cap = request.outputCap ?? ProtocolVersion.defaultOutputCap
        let (id, responses) = send(.exec(request))
        let watch = CallDeadline(deadline, request: id, on: self)
        defer { watch.disarm() }
        var stdout = Data(), stderr = Data()
        var overflow = [false, false]
        let outcome: Result<ExitStatus, SandboxError> = await withTaskCancellationHandler {
            for await response in responses {
                switch response {
                case .stdout(let chunk):
                    onOutput?(.stdout, chunk.data)
                    overflow[0] = Self.append(chunk.data, to: &stdout, cap: cap) || overflow[0]
                case .stderr(let chunk):
                    onOutput?(.stderr, chunk.data)
                    overflow[1] = Self.append(chunk.data, to: &stderr, cap: cap) || overflow[1]
                case .exit(var status):
                    status.stdoutTruncated = status.stdoutTruncated || overflow[0]
                    status.stderrTruncated = status.stderrTruncated || overflow[1]
                    return .success(status)
                case .error(let error):
                    return .failure(Self.sandboxError(error))
                default:
                    return .failure(SandboxError(.protocolViolation, "the guest answered an exec with '\(response.type)'"))
                }
            }
            guard watch.passed else { return .failure(SandboxError(.guestDied, "the sandbox ended during the call")) }
            cancel(id)
            return .failure(Self.deadlinePassed)
        } onCancel: {
            cancel(id)
        }
        let status = try outcome.get()
        return ExecResult(status: status, stdout: stdout, stderr: stderr)
    }

    /// Sends a file request and returns its final answer (`.file`, `.entries`, `.stat`,
    /// `.ok`, or `.error` with the guest's reason, e.g. `path_escape`). Past `deadline` it
    /// throws `.deadlinePassed` without waiting for the guest.
    public func call(_ request: Request, deadline: ContinuousClock.Instant? = nil) async throws(SandboxError) -> Response {
        let (id, responses) = send(request)
        let watch = CallDeadline(deadline, request: id, on: self)
        defer { watch.disarm() }
        for await response in responses where response.isFinal {
            if case .error(let error) = response, error.code == "guest_died" {
                throw Self.sandboxError(error)
            }
            return response
        }
        throw watch.passed ? Self.deadlinePassed : SandboxError(.guestDied, "the sandbox ended during the call")
    }

    private static let deadlinePassed = SandboxError(.deadlinePassed, "the sandbox did not answer before the call's deadline")

    private static func append(_ data: Data, to buffer: inout Data, cap: Int) -> Bool {
        let room = cap - buffer.count
        guard room > 0 else { return !data.isEmpty }
        buffer.append(data.prefix(room))
        return data.count > room
    }

    private static func sandboxError(_ error: ErrorFrame) -> SandboxError {
        error.code == "guest_died"
            ? SandboxError(.guestDied, error.message)
            : SandboxError(.protocolViolation, "guest error \(error.code): \(error.message)")
    }
}

/// One call's deadline on the process's watchdog: once it passes, the call's wait ends and
/// `passed` says why. The handler writes nothing to the guest: the watchdog's thread serves
/// every call of the process, and a write to a guest that stopped reading could block it.
private struct CallDeadline: Sendable {
    private final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }
    private let fired = Flag()
    private let token: Watchdog.Token?

    init(_ deadline: ContinuousClock.Instant?, request id: UInt64, on connection: GuestConnection) {
        let fired = self.fired
        token = deadline.map { deadline in
            Watchdog.shared.arm(deadline) { [weak connection] in
                fired.value.store(true, ordering: .releasing)
                connection?.stopWaiting(id)
            }
        }
    }

    var passed: Bool { fired.value.load(ordering: .acquiring) }

    func disarm() {
        if let token { Watchdog.shared.disarm(token) }
    }
}
