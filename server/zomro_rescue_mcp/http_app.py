"""The Streamable HTTP transport: the MCP endpoint behind a bearer token, Host/Origin checks and a health probe.

Stateful by default, so progress notifications and elicitation reach the client. Loaded only for
`serve --transport http`; starlette and uvicorn stay unimported in stdio mode.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import __version__
from .config import Settings
from .errors import ConfigError
from .mcp_server import RescueMCPServer

__all__ = ["MAX_BODY_BYTES", "build_http_app"]

MAX_BODY_BYTES = 256 * 1024  # a tool call is a few hundred bytes; anything near this is not one
MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class BearerGuard:
    """Requires `Authorization: Bearer <ZOMRO_MCP_TOKEN>` on every request but the health probe."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or (scope["type"] == "http" and scope.get("path") == HEALTH_PATH):
            await self._app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        if not hmac.compare_digest(given, self._expected):
            if scope["type"] != "http":
                await send({"type": "websocket.close", "code": 1008})
                return
            body = {"error": "unauthorized", "message": "Send the server's token as 'Authorization: Bearer <token>'."}
            response = Response(
                json.dumps(body),
                status_code=401,
                media_type="application/json",
                headers={"WWW-Authenticate": 'Bearer realm="zomro-rescue-mcp"'},
            )
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)


def health(settings: Settings) -> dict[str, Any]:
    """What the probe tells: version and mode, never a secret or an instance id."""
    return {
        "status": "ok",
        "name": "zomro-rescue-mcp",
        "version": __version__,
        "read_only": settings.read_only,
        "allowlist": settings.allowed_instances is not None,
        "approval": settings.require_approval,
        "audit": settings.audit_log is not None,
        "token_required": settings.mcp_token is not None,
    }


def _security(settings: Settings, host: str, port: int) -> TransportSecuritySettings | None:
    if not settings.allowed_hosts:
        if host in _LOOPBACK:
            return None  # the SDK checks Host and Origin for loopback binds by itself
        if host in ("0.0.0.0", "::"):  # noqa: S104 - refusing a wildcard bind that has no allowed hosts
            raise ConfigError(
                f"Listening on {host} needs ZOMRO_ALLOWED_HOSTS: the Host names clients use to reach this server "
                "(e.g. rescue.example.com:8000), so DNS-rebinding requests are refused."
            )
    name = f"[{host}]" if ":" in host else host  # an IPv6 literal is bracketed in a Host header
    hosts = list(settings.allowed_hosts) or [f"{name}:{port}", name]
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def build_http_app(
    mcp: RescueMCPServer, settings: Settings, *, host: str, port: int, allow_no_token: bool = False
) -> ASGIApp:
    """The ASGI app of `serve --transport http`; refuses to serve without a token unless told so on loopback."""
    if settings.mcp_token is None:
        if host not in _LOOPBACK:
            raise ConfigError(
                f"Refusing to serve on {host} without ZOMRO_MCP_TOKEN: anyone who reaches the port could reboot "
                "servers. Set ZOMRO_MCP_TOKEN (at least 16 characters)."
            )
        if not allow_no_token:
            raise ConfigError(
                "Refusing to serve HTTP without ZOMRO_MCP_TOKEN: any local process, or a proxy in front, could "
                "reboot servers. Set ZOMRO_MCP_TOKEN (at least 16 characters); for a local test only, pass "
                "--allow-no-token."
            )
    security = _security(settings, host, port)

    async def healthz(_: Request) -> Response:
        return JSONResponse(health(settings))

    starlette_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=False,
        json_response=False,
        max_request_body_size=MAX_BODY_BYTES,
        transport_security=security,
        host=host,
    )
    starlette_app.router.routes.append(Route(HEALTH_PATH, healthz, methods=["GET"]))
    app: ASGIApp = starlette_app
    if settings.mcp_token is not None:
        app = BearerGuard(app, settings.mcp_token)
    return app
