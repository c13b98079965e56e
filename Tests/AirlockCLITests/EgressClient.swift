/// The client the egress tests run inside the sandbox (python3, standard library only): it
/// prints one JSON object per action so the tests can assert on what the sandbox saw.
enum EgressClient {
    static let script = #"""
import json, os, socket, ssl, sys, urllib.error, urllib.request

def out(value):
    print(json.dumps(value), flush=True)

def read_all(sock):
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except Exception as error:
        data += ("<" + type(error).__name__ + ">").encode()
    return data

def connect_through(target):
    """CONNECT to target through the proxy inside; the socket and the status line."""
    sock = socket.create_connection(("127.0.0.1", 3128), timeout=10)
    sock.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (target, target)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return sock, head.split(b"\r\n")[0].decode("latin1")

mode = sys.argv[1]
if mode == "get":
    request = urllib.request.Request(sys.argv[2])
    for header in sys.argv[3:]:
        name, value = header.split(":", 1)
        request.add_header(name, os.path.expandvars(value.strip()))
    try:
        response = urllib.request.urlopen(request, timeout=20)
        body = response.read()
        out({"status": response.status, "bytes": len(body), "body": body[:300].decode("latin1")})
    except urllib.error.HTTPError as error:
        out({"status": error.code, "body": error.read()[:300].decode("latin1")})
    except Exception as error:
        out({"error": repr(error)})
elif mode == "tunnel":
    # CONNECT to sys.argv[2] through the proxy, then send sys.argv[3] (escapes allowed) inside.
    inner = sys.argv[3].encode().decode("unicode_escape").encode("latin1")
    sock, status = connect_through(sys.argv[2])
    inside = ""
    if " 200" in status:
        sock.sendall(inner)
        inside = read_all(sock)[:300].decode("latin1")
    out({"connect": status, "inside": inside})
elif mode == "sni":
    # CONNECT to sys.argv[2], then a TLS handshake naming sys.argv[3] and a GET.
    name = sys.argv[3]
    sock, _ = connect_through(sys.argv[2])
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        tls = context.wrap_socket(sock, server_hostname=name)
        tls.sendall(("GET /sni HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % name).encode())
        out({"handshake": "ok", "reply": tls.recv(4096)[:100].decode("latin1")})
    except Exception as error:
        out({"handshake": "failed", "error": repr(error)})
elif mode == "direct":
    try:
        socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=5).close()
        out({"direct": "connected"})
    except Exception as error:
        out({"direct": "failed", "error": repr(error)})
elif mode == "dns":
    try:
        out({"dns": "resolved", "addresses": [a[4][0] for a in socket.getaddrinfo(sys.argv[2], 80)]})
    except Exception as error:
        out({"dns": "failed", "error": repr(error)})
"""#
}
