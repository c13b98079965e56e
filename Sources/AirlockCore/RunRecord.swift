import AirlockModels
import Foundation

/// Where a run stands. `queued`: submitted, waiting for a worker; `interrupted`: the harness
/// died or was stopped mid-run (resumable); `paused`: waiting on a human (an approval).
public enum RunStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case queued, running, paused, interrupted, finished
}

/// One row of `runs`. Coded with the column names, which is also the `--json` shape.
public struct RunRecord: Sendable, Hashable, Codable {
    public var id: String
    public var task: String
    /// `provider:name` as given.
    public var model: String
    public var workspace: String
    public var status: RunStatus
    /// What ended the run (`submitted`, `budget_exceeded`, …); the loop chooses the words.
    public var outcome: String?
    public var exitCode: Int?
    public var config: JSONValue
    public var createdAt: String
    public var updatedAt: String
    public var finishedAt: String?
    public var steps: Int
    public var inputTokens: Int
    public var outputTokens: Int
    public var costUSD: Double
    /// The harness holding the run (a worker's name, or `local:HOST:PID`), if any.
    public var worker: String?
    /// Bumped at every claim; see `RunFence`.
    public var epoch: Int
    /// Whether the run's lease (a worker's claim, or a local harness's hold in a shared
    /// store) still runs on the database's clock; nil when it never had one.
    public var leaseLive: Bool?

    public init(id: String, task: String, model: String, workspace: String,
                status: RunStatus = .running, outcome: String? = nil, exitCode: Int? = nil,
                config: JSONValue = .object([:]), createdAt: String, updatedAt: String,
                finishedAt: String? = nil, steps: Int = 0, inputTokens: Int = 0,
                outputTokens: Int = 0, costUSD: Double = 0, worker: String? = nil, epoch: Int = 0,
                leaseLive: Bool? = nil) {
        self.id = id
        self.task = task
        self.model = model
        self.workspace = workspace
        self.status = status
        self.outcome = outcome
        self.exitCode = exitCode
        self.config = config
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.finishedAt = finishedAt
        self.steps = steps
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUSD = costUSD
        self.worker = worker
        self.epoch = epoch
        self.leaseLive = leaseLive
    }

    enum CodingKeys: String, CodingKey {
        case id, task, model, workspace, status, outcome, config, steps, worker, epoch
        case exitCode = "exit_code"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case finishedAt = "finished_at"
        case inputTokens = "input_tokens"
        case outputTokens = "output_tokens"
        case costUSD = "cost_usd"
        case leaseLive = "lease_live"
    }
}

extension RunRecord {
    /// Whether a live harness drives the run: a worker holds it, a local harness's hold in a
    /// shared store still runs, or (one machine) a harness holds its lock in `stateDirectory`.
    public func isDriven(stateDirectory: URL) -> Bool {
        worker != nil || leaseLive == true || RunLock.isHeld(run: id, stateDirectory: stateDirectory)
    }
}
