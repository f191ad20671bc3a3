"""The SDK floor: a bare MCPServer with one trivial async tool, over stdio or Streamable HTTP."""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer

server = MCPServer("bare")


@server.tool()
async def noop() -> str:
    """Does nothing, so a call measures only the SDK and the transport."""
    return "ok"


if __name__ == "__main__":
    server.run()
    sys.exit(0)
