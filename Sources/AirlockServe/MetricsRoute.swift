import AirlockPrometheus
import Hummingbird
import NIOCore

/// Mounts a MetricsEndpoint at `/metrics` on a Hummingbird router (serve today; a worker's
/// health server can call the same).
public enum MetricsRoute {
    public static func register<Context: RequestContext>(_ endpoint: MetricsEndpoint, on router: Router<Context>) {
        router.get("metrics") { _, _ in
            let bytes = await endpoint.render()
            return Response(status: .ok, headers: [.contentType: MetricsEndpoint.contentType],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
