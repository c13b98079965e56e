import AirlockCore
import AirlockModels
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The runs API (docs/api.md, docs/openapi.yaml): `POST /api/runs` submits,
/// `GET /api/runs/{id}/events` streams the run's ledger as Server-Sent Events (resumable
/// with `Last-Event-ID`), `POST /api/runs/{id}/cancel` stops. Reads are in `ServeAPI`.
struct ServeRunsAPI: Sendable {
    let configuration: ServeConfiguration
    let data: ServeData
    let submitter: (any RunSubmitter)?
    /// How often the event stream looks for new entries.
    var poll: Duration = .milliseconds(100)

    func register(on router: Router<ServeContext>) {
        let api = router.group("api")
        api.post("runs") { request, _ in try await submit(request) }
        api.get("runs/:id/events") { request, context in
            guard let id = context.parameters.get("id"), let run = try await data.store.run(id: id) else {
                return ServeResponses.error(.notFound, "no such run", request)
            }
            let after = HTTPField.Name("Last-Event-ID").flatMap { request.headers[$0] }.flatMap { Int($0) }
                ?? request.uri.queryParameters["after"].flatMap { Int(String($0)) } ?? 0
            return events(run.id, after: after)
        }
        api.post("runs/:id/cancel") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 16 * 1024)
            let object = (try? JSONValue(parsing: String(buffer: body))) ?? .object([:])
            guard let id = context.parameters.get("id"), let run = try await data.store.run(id: id) else {
                return ServeResponses.error(.notFound, "no such run", request)
            }
            let who = configuration.identity(remoteAddress: context.remoteAddress)
            let outcome = try await RunStopper(store: data.store).stop(run.id, by: who, reason: object["reason"]?.stringValue ?? "",
                                                                       wait: nil)
            guard outcome.ok else { return ServeResponses.error(.conflict, outcome.message, request) }
            return ServeResponses.json(outcome.json, status: .accepted)
        }
    }

    private func submit(_ request: Request) async throws -> Response {
        var request = request
        guard let submitter else {
            return ServeResponses.error(.notImplemented, "this server cannot submit runs", request)
        }
        let body = try await request.collectBody(upTo: 256 * 1024)
        guard case .object(let object)? = try? JSONValue(parsing: String(buffer: body)) else {
            return ServeResponses.json(["ok": false, "field": "body", "error": "expected a JSON object such as {\"task\": \"…\", \"model\": \"script:/path\"}"],
                                       status: .badRequest)
        }
        do {
            let record = try await submitter.submit(object, store: data.store)
            return ServeResponses.json(["ok": true, "run": .string(record.id), "status": .string(record.status.rawValue),
                                        "events": .string("/api/runs/\(record.id)/events")], status: .created)
        } catch let refusal as SubmitRefusal {
            return ServeResponses.json(["ok": false, "field": .string(refusal.field), "error": .string(refusal.description)],
                                       status: .badRequest)
        }
    }

    /// The run's `--json` events (`LedgerEvents`) as SSE, each with the `id` of the ledger
    /// entry it comes from, so `Last-Event-ID` resumes exactly after it. Ends after
    /// `run_finished`.
    private func events(_ run: String, after: Int) -> Response {
        let store = data.store
        let poll = self.poll
        let body = ResponseBody { writer in
            var translator = LedgerEvents()
            // What came before a resume point still names calls and steps for what follows.
            if after > 0 {
                for entry in try await store.ledgerEntries(run: run, after: 0) where entry.seq <= after {
                    _ = translator.events(for: entry)
                }
            }
            var last = after
            let end = ContinuousClock.now + .seconds(3600)
            var finished = false
            while !finished, ContinuousClock.now < end {
                let entries = try await store.ledgerEntries(run: run, after: last)
                for entry in entries {
                    for event in translator.events(for: entry) {
                        try await writer.write(ByteBuffer(string: Self.frame(event, seq: entry.seq)))
                    }
                    last = entry.seq
                    if entry.kind == .runFinished { finished = true }
                }
                if !finished {
                    if entries.isEmpty { try await writer.write(ByteBuffer(string: ": waiting\n\n")) }
                    try await Task.sleep(for: poll)
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"], body: body)
    }

    static func frame(_ event: RunEvent, seq: Int) -> String {
        "id: \(seq)\nevent: \(event.type)\ndata: \(event.json.canonicalJSON)\n\n"
    }
}
