import AirlockCore
import Hummingbird

/// The HTML pages: `/` (runs), `/runs/ID` (transcript), `/approvals` (pending), `/app.js`.
struct ServePages: Sendable {
    let configuration: ServeConfiguration
    let data: ServeData

    func register(on router: Router<ServeContext>) {
        router.get("/") { _, _ in
            ServeResponses.html(RunsPage.render(try await data.runs(), stateDirectory: data.store.location,
                                                csrf: configuration.csrfToken))
        }
        router.get("approvals") { _, context in
            ServeResponses.html(ApprovalsPage.render(try await data.pending(), identity: configuration.identity(remoteAddress: context.remoteAddress),
                                                     csrf: configuration.csrfToken))
        }
        router.get("runs/:id") { request, context in
            guard let id = context.parameters.get("id"), let run = try await data.run(id) else {
                return ServeResponses.error(.notFound, "no such run", request)
            }
            let store = data.store
            return ServeResponses.html(RunPage.render(
                run, entries: try await store.ledgerEntries(run: run.record.id), pending: try await data.pending(run: run.record.id),
                verify: try await store.verifyLedger(run: run.record.id),
                identity: configuration.identity(remoteAddress: context.remoteAddress), csrf: configuration.csrfToken))
        }
        router.get("app.js") { _, _ in
            ServeResponses.javascript(AppScript.source)
        }
    }
}
