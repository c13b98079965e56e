import AirlockCore
import AirlockModels
import Hummingbird

/// Building responses: HTML pages, JSON bodies, redirects and errors in the form the
/// caller reads (JSON under /api, a page elsewhere).
enum ServeResponses {
    static func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.canonicalJSON + "\n")))
    }

    static func javascript(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(to path: String) -> Response {
        // Only a local path: never an open redirect.
        let target = path.hasPrefix("/") && !path.hasPrefix("//") ? path : "/"
        return Response(status: .seeOther, headers: [.location: target])
    }

    static func error(_ status: HTTPResponse.Status, _ message: String, _ request: Request) -> Response {
        if request.uri.path.hasPrefix("/api") {
            return json(["ok": false, "error": .string(message)], status: status)
        }
        let body = "<section class=\"card\"><h2>\(status.code) \(HTML.escape(status.reasonPhrase))</h2><p>\(HTML.escape(message))</p></section>"
        return html(Layout.page(title: "\(status.code)", active: "", body: body), status: status)
    }
}
