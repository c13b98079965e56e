import AirlockModels
import Foundation

/// One row of `batches`: a list of runs submitted together by `airlock batch FILE` and driven
/// by one harness process. Its runs are ordinary queued runs tagged with the batch (and
/// their place in the file), so `batch resume` claims what a killed process left.
public struct BatchRecord: Sendable, Hashable {
    public var id: String
    /// The batch file, as given (absolute).
    public var source: String
    public var createdAt: String
    /// The batch's own options: concurrency, total budgets, warm pool size.
    public var options: JSONValue
    /// How many runs it holds.
    public var size: Int

    public init(id: String, source: String, createdAt: String, options: JSONValue, size: Int) {
        self.id = id
        self.source = source
        self.createdAt = createdAt
        self.options = options
        self.size = size
    }

    /// Ids like `b-20261130-193000-ab12`, sorting by creation like run ids.
    public static func makeID(at date: Date) -> String {
        "b" + RunID.make(at: date).dropFirst()
    }
}

/// A run to queue as part of a batch (what `submitRun` takes).
public struct BatchRunRequest: Sendable, Hashable {
    public var task: String
    public var model: String
    public var workspace: String
    public var config: JSONValue
    public var request: JSONValue
    public var needs: [String]

    public init(task: String, model: String, workspace: String, config: JSONValue, request: JSONValue, needs: [String]) {
        self.task = task
        self.model = model
        self.workspace = workspace
        self.config = config
        self.request = request
        self.needs = needs
    }
}
