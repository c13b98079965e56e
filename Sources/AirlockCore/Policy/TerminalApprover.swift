import Foundation
import Glibc

/// `--approver tty`: asks on the harness's terminal. The sandbox runs in a new session with
/// no controlling terminal, so nothing inside can type the answer.
public struct TerminalApprover: Approver {
    public let name = "tty"
    private let input: FileHandle
    private let output: FileHandle
    /// An unanswered request is denied after this long.
    public var timeout: Duration

    /// Opens /dev/tty, or returns nil when the harness has no terminal.
    public static func onTerminal(timeout: Duration = .seconds(300)) -> TerminalApprover? {
        guard let handle = FileHandle(forUpdatingAtPath: "/dev/tty") else { return nil }
        return TerminalApprover(input: handle, output: handle, timeout: timeout)
    }

    public init(input: FileHandle, output: FileHandle, timeout: Duration = .seconds(300)) {
        self.input = input
        self.output = output
        self.timeout = timeout
    }

    public func decide(_ request: ApprovalRequest) async -> ApprovalAnswer {
        let who = Self.userName()
        if let budget = request.budget { return await decideBudget(request, budget, by: who) }
        let prompt = """

            ┌ approval needed · run \(request.run) · call \(request.call)
            │ \(request.tool): \(request.summary)
            │ \(request.rule ?? "policy"): \(request.reason)
            └ [y] approve once  [a] approve this rule for the run  [n REASON] deny  [t] terminate the run: 
            """
        output.write(Data(prompt.utf8))
        let line = await Self.readLine(input, timeout: request.remaining(default: timeout))
        guard let line else {
            output.write(Data("\n(no answer: denied)\n".utf8))
            return ApprovalAnswer(.deny, reason: "no answer within \(request.limit(default: timeout))", by: "airlock")
        }
        return Self.parse(line, by: who)
    }

    /// `y`, `a`, `t`, or `n` with an optional reason; anything else denies.
    static func parse(_ line: String, by who: String) -> ApprovalAnswer {
        let text = line.trimmingCharacters(in: .whitespaces)
        let word = text.split(separator: " ", maxSplits: 1).first.map { $0.lowercased() } ?? ""
        switch word {
        case "y", "yes": return ApprovalAnswer(.approve, by: who)
        case "a", "always": return ApprovalAnswer(.approveRule, by: who)
        case "t", "terminate": return ApprovalAnswer(.terminate, reason: "terminated at an approval prompt", by: who)
        default:
            let reason = text.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init)
            return ApprovalAnswer(.deny, reason: reason ?? "denied at the terminal", by: who)
        }
    }

    /// A budget that ran out: a number extends it, `t` ends the run, anything else lets it stop.
    func decideBudget(_ request: ApprovalRequest, _ budget: BudgetExceeded, by who: String) async -> ApprovalAnswer {
        let prompt = """

            ┌ budget exhausted · run \(request.run) · \(request.call)
            │ \(request.reason)
            └ [AMOUNT] extend the \(budget.budget.rawValue) budget by AMOUNT  [n] let the run stop  [t] terminate the run: 
            """
        output.write(Data(prompt.utf8))
        guard let line = await Self.readLine(input, timeout: request.remaining(default: timeout)) else {
            output.write(Data("\n(no answer: the budget is not extended)\n".utf8))
            return ApprovalAnswer(.deny, reason: "no answer within \(request.limit(default: timeout))", by: "airlock")
        }
        return Self.parseBudget(line, by: who)
    }

    static func parseBudget(_ line: String, by who: String) -> ApprovalAnswer {
        let text = line.trimmingCharacters(in: .whitespaces)
        if let amount = Double(text), amount > 0, amount.isFinite { return ApprovalAnswer(.extend, by: who, amount: amount) }
        if ["t", "terminate"].contains(text.lowercased()) {
            return ApprovalAnswer(.terminate, reason: "terminated at a budget prompt", by: who)
        }
        return ApprovalAnswer(.deny, reason: "not extended at the terminal", by: who)
    }

    static func userName() -> String {
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "uid \(getuid())"
    }
}

extension TerminalApprover {
    /// One line from `input`, or nil at end of input or after `timeout`. The read blocks, so
    /// it runs on its own thread, never on the concurrency pool.
    static func readLine(_ input: FileHandle, timeout: Duration) async -> String? {
        let once = Once()
        return await withCheckedContinuation { (continuation: CheckedContinuation<String?, Never>) in
            once.set(continuation)
            let reader = Thread {
                var bytes: [UInt8] = []
                while true {
                    guard let chunk = try? input.read(upToCount: 1), let byte = chunk.first else {
                        once.resume(bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self))
                        return
                    }
                    if byte == UInt8(ascii: "\n") {
                        once.resume(String(decoding: bytes, as: UTF8.self))
                        return
                    }
                    bytes.append(byte)
                }
            }
            reader.start()
            Task {
                try? await Task.sleep(for: timeout)
                once.resume(nil)
            }
        }
    }

    /// Resumes a continuation at most once.
    final class Once: @unchecked Sendable {
        private let lock = NSLock()
        private var continuation: CheckedContinuation<String?, Never>?

        func set(_ continuation: CheckedContinuation<String?, Never>) {
            lock.withLock { self.continuation = continuation }
        }

        func resume(_ value: String?) {
            let pending = lock.withLock { () -> CheckedContinuation<String?, Never>? in
                defer { continuation = nil }
                return continuation
            }
            pending?.resume(returning: value)
        }
    }
}
