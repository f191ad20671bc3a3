"""The SDK floor: a bare MCPServer with two trivial tools, over stdio or (with `--http PORT`) Streamable HTTP.

`noop` returns a word; `canned_images` returns, without any API call, a result of the same shape and size as
list_rescue_images (16 images), so the SDK's cost of structured output can be told apart from ours.
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer

from zomro_rescue_mcp.operations.models import RescueImage, RescueImageList

server = MCPServer("bare")
IMAGES = [
    RescueImage(id=f"f8f2573f-56c4-44c5-8469-84eee4aa64{n:02x}", os=f"Linux {n}", name=None, zone="pub")
    for n in range(16)
]


@server.tool()
async def noop() -> str:
    """Does nothing, so a call measures only the SDK and the transport."""
    return "ok"


@server.tool()
async def canned_images(instance_id: int) -> RescueImageList:
    """The structured result list_rescue_images returns, made without the API."""
    return RescueImageList(instance_id=instance_id, name="web-1", status="active", images=IMAGES)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
