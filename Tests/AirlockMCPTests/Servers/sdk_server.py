"""A small MCP server written with the official Python SDK, for what the PyPI servers do
not exercise: progress notifications, a slow tool, a no-op (the benchmark's), an image."""
import asyncio
import sys

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.utilities.types import Image

server = MCPServer("airlock-test")


@server.tool()
def noop() -> str:
    """Does nothing."""
    return "ok"


@server.tool()
async def count(steps: int, ctx: Context) -> str:
    """Counts to steps, reporting progress."""
    for step in range(steps):
        await ctx.report_progress(step + 1, steps)
    return "counted %d" % steps


@server.tool()
async def slow(seconds: float) -> str:
    """Sleeps."""
    await asyncio.sleep(seconds)
    return "slept"


@server.tool()
def picture() -> Image:
    """A tiny PNG."""
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6300010000050001a5f645400000000049454e44ae426082")
    return Image(data=png, format="png")


if __name__ == "__main__":
    server.run("stdio")
