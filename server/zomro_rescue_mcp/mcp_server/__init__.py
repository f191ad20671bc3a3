"""The MCP adapter: the tools (descriptions, annotations, schemas), the model's renderer, approval by elicitation,
the prompt, and the Streamable HTTP app with its limits. Loaded on first use: importing the package loads no SDK.
"""

from typing import TYPE_CHECKING

from ..core.lazy import exporter

if TYPE_CHECKING:
    from .http_app import build_http_app
    from .http_limits import listen, serve
    from .loopback import serve_on_loopback
    from .schemas import live_modes, live_tool_documents, write_schemas
    from .server import build_server

__all__ = [
    "build_http_app",
    "build_server",
    "listen",
    "live_modes",
    "live_tool_documents",
    "serve",
    "serve_on_loopback",
    "write_schemas",
]

__getattr__ = exporter(
    __name__,
    {
        "build_http_app": "http_app",
        "build_server": "server",
        "listen": "http_limits",
        "live_modes": "schemas",
        "live_tool_documents": "schemas",
        "serve": "http_limits",
        "serve_on_loopback": "loopback",
        "write_schemas": "schemas",
    },
)
