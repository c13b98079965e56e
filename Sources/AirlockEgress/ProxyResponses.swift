import NIOCore
import NIOHTTP1

/// The proxy's own short plain-text answers (refusals, gateway failures).
enum ProxyResponses {
    /// Written straight to the socket, before any HTTP encoder is in the pipeline.
    static func raw(_ status: HTTPResponseStatus, _ reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        let body = reason + "\n"
        return allocator.buffer(string: "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.utf8.count)\r\n"
            + "Connection: close\r\nX-Airlock-Egress: refused\r\n\r\n" + body)
    }

    /// The same answer as parts for an `HTTPResponseEncoder`.
    static func parts(_ status: HTTPResponseStatus, _ reason: String,
                      allocator: ByteBufferAllocator) -> [HTTPServerResponsePart] {
        let body = reason + "\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        headers.add(name: "X-Airlock-Egress", value: "refused")
        return [.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers)),
                .body(.byteBuffer(allocator.buffer(string: body))), .end(nil)]
    }

    static let connectEstablished = "HTTP/1.1 200 Connection established\r\n\r\n"
}
