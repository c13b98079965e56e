"""A remote MCP server for Airlock's tests: the official SDK serving Streamable HTTP on a
loopback port it prints, refusing every request without `Authorization: Bearer $REMOTE_TOKEN`."""
import os
import socket

import uvicorn
from mcp.server.mcpserver import MCPServer

TOKEN = os.environ["REMOTE_TOKEN"]
server = MCPServer("remote")


@server.tool()
def echo(text: str) -> str:
    """Echoes the text back."""
    return "remote: " + text


app = server.streamable_http_app()


async def guard(scope, receive, send):
    if scope["type"] == "http":
        headers = dict(scope.get("headers") or [])
        if headers.get(b"authorization", b"").decode() != "Bearer " + TOKEN:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
    await app(scope, receive, send)


sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(guard, log_level="warning")).run(sockets=[sock])
