import AirlockCore
import AirlockModels
import Foundation
import Hummingbird
import NIOCore

/// The JSON API under /api, used by the page's buttons and by scripts:
/// `GET /api/session`, `/api/runs`, `/api/runs/ID`, `/api/pending[?run=ID]`;
/// `POST /api/approve {"run", "call", "rule"?, "extend"?}` (`extend`: the amount for a budget question), `POST /api/deny {"run", "call", "reason"?, "terminate"?}`.
struct ServeAPI: Sendable {
    let configuration: ServeConfiguration
    let data: ServeData

    func register(on router: Router<ServeContext>) {
        let api = router.group("api")
        api.get("session") { _, context in
            ServeResponses.json(["identity": .string(configuration.identity(remoteAddress: context.remoteAddress)),
                                 "csrf": .string(configuration.csrfToken)])
        }
        api.get("runs") { _, _ in
            ServeResponses.json(["runs": .array(try await data.runs().map(\.json))])
        }
        api.get("runs/:id") { request, context in
            guard let id = context.parameters.get("id"), let run = try await data.run(id) else {
                return ServeResponses.error(.notFound, "no such run", request)
            }
            return ServeResponses.json(try await detail(run))
        }
        api.get("pending") { request, _ in
            let run = request.uri.queryParameters["run"].map(String.init)
            return ServeResponses.json(["pending": .array(try await data.pending(run: run).map(\.json))])
        }
        api.post("approve") { request, context in
            try await answer(request, context, deny: false)
        }
        api.post("deny") { request, context in
            try await answer(request, context, deny: true)
        }
    }

    private func detail(_ run: RunView) async throws -> JSONValue {
        let store = data.store
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let calls = try JSONValue(parsing: String(decoding: try encoder.encode(try await store.toolCalls(run: run.record.id)), as: UTF8.self))
        let verify = try await store.verifyLedger(run: run.record.id)
        let ledger = try await store.ledgerEntries(run: run.record.id).map { entry -> JSONValue in
            ["seq": .int(entry.seq), "time": .string(entry.time), "kind": .string(entry.kind.rawValue),
             "payload": entry.payload, "hash": .string(entry.hash)]
        }
        return ["run": run.json, "tool_calls": calls, "ledger": .array(ledger),
                "pending": .array(try await data.pending(run: run.record.id).map(\.json)),
                "verify": ["ok": .bool(verify.ok), "count": .int(verify.count),
                           "first_bad_seq": verify.firstBadSeq.map { .int($0) } ?? .null,
                           "reason": verify.reason.map { .string($0) } ?? .null]]
    }

    private func answer(_ request: Request, _ context: ServeContext, deny: Bool) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 * 1024)
        guard let object = try? JSONValue(parsing: String(buffer: body)), case .object = object,
              let run = object["run"]?.stringValue, let call = object["call"]?.stringValue else {
            return ServeResponses.error(.badRequest, "expected a JSON body {\"run\": ID, \"call\": CALL}", request)
        }
        var decision: ApprovalAnswer.Decision
        if deny {
            decision = object["terminate"] == .bool(true) ? .terminate : .deny
        } else {
            decision = object["rule"] == .bool(true) ? .approveRule : .approve
        }
        // A budget question (`budget-N`) is answered with an amount, or denied.
        var amount: Double?
        if !deny {
            switch (call.hasPrefix("budget-"), object["extend"]) {
            case (true, .int(let value)?) where value > 0: amount = Double(value)
            case (true, .double(let value)?) where value > 0 && value.isFinite: amount = value
            case (true, _):
                return ServeResponses.error(.badRequest, "\(call) is a budget that ran out: approve it with {\"extend\": AMOUNT} (a positive number in the budget's unit), or deny it", request)
            case (false, nil): break
            case (false, _):
                return ServeResponses.error(.badRequest, "extend applies only to a budget question (budget-N), not to \(call)", request)
            }
            if amount != nil { decision = .extend }
        }
        let identity = configuration.identity(remoteAddress: context.remoteAddress)
        switch try await data.answer(run: run, call: call, decision: decision, reason: object["reason"]?.stringValue,
                                     amount: amount, by: identity) {
        case .answered(let by):
            return ServeResponses.json(["ok": true, "run": .string(run), "call": .string(call),
                                        "decision": .string(decision.rawValue), "by": .string(by),
                                        "amount": amount.map { .double($0) } ?? .null])
        case .runNotFound:
            return ServeResponses.error(.notFound, "no unfinished run \(run)", request)
        case .notWaiting(let pending):
            let waiting = pending.isEmpty ? "nothing" : pending.joined(separator: ", ")
            return ServeResponses.error(.conflict, "run \(run) is not waiting for call \(call) (waiting: \(waiting))", request)
        case .alreadyAnswered:
            return ServeResponses.error(.conflict, "call \(call) of \(run) already has an answer", request)
        }
    }
}
