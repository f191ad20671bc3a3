"""The Streamable HTTP transport: the MCP endpoint behind a bearer token, Host/Origin checks and a health probe.

Stateful by default, so progress notifications and elicitation reach the client. Loaded only for
`serve --transport http`; starlette and uvicorn stay unimported in stdio mode.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import socket
from typing import Any

from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import __version__
from ..core.errors import ConfigError
from ..settings.accounts import Accounts
from ..settings.config import Settings
from .http_limits import HttpLimits, make_room_for_new_sessions
from .server import RescueMCPServer

__all__ = ["MAX_BODY_BYTES", "build_http_app", "is_all_interfaces", "is_loopback"]

MAX_BODY_BYTES = 256 * 1024  # a tool call is a few hundred bytes; anything near this is not one
MCP_PATH = "/mcp"
HEALTH_PATH = "/healthz"
# What the SDK allows by itself on a loopback bind; a loopback bind here always sets it explicitly.
_LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*"]


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `--host` names, read as the socket layer reads it ("0" and "0.0" are 0.0.0.0); None for a name."""
    if not host:
        return ipaddress.IPv4Address(0)  # bind(("", port)) listens on every interface
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback(host: str) -> bool:
    """Whether a bind to `host` is reachable from this machine only."""
    address = _address(host)
    return address.is_loopback if address is not None else host.lower().rstrip(".") == "localhost"


def is_all_interfaces(host: str) -> bool:
    """Whether a bind to `host` listens on every interface (0.0.0.0, ::, "0" and their other spellings)."""
    address = _address(host)
    return address is not None and address.is_unspecified


class BearerGuard:
    """Requires `Authorization: Bearer <ZOMRO_MCP_TOKEN>` on every request but the health probe."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self._app = app
        self._expected = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or (scope["type"] == "http" and scope.get("path") == HEALTH_PATH):
            await self._app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"authorization", b"")
        scheme, _, credentials = given.partition(b" ")
        # The scheme is case-insensitive (RFC 9110 section 11.1); the token is compared in constant time.
        if scheme.lower() != b"bearer" or not hmac.compare_digest(credentials.strip(b" "), self._expected):
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


def health(settings: Settings | Accounts) -> dict[str, Any]:
    """What the probe tells: version and mode, never a secret, an instance id or an account's name.

    With several accounts a guard rail reads true only when every account has it (read_only: no account can
    change), so a monitor never takes a partly guarded server for a guarded one.
    """
    accounts = Accounts.single(settings) if isinstance(settings, Settings) else settings
    rails = [s.guard_rails for s in accounts.settings]
    shared = accounts.shared
    return {
        "status": "ok",
        "name": "zomro-rescue-mcp",
        "version": __version__,
        "accounts": len(rails),
        "read_only": all(r.read_only for r in rails),
        "allowlist": all(r.allowed_instances is not None for r in rails),
        "approval": all(r.require_approval == "always" for r in rails),
        "audit": shared.guard_rails.audit_log is not None,
        "token_required": shared.http.mcp_token is not None,
    }


def _security(settings: Settings, host: str, port: int) -> TransportSecuritySettings:
    """The Host and Origin values accepted: ZOMRO_ALLOWED_HOSTS, or those naming the bound address."""
    name = f"[{host}]" if ":" in host else host  # an IPv6 literal is bracketed in a Host header
    if settings.http.allowed_hosts:
        hosts = list(settings.http.allowed_hosts)
    elif is_all_interfaces(host):
        raise ConfigError(
            f"Listening on {host!r} (every interface) needs ZOMRO_ALLOWED_HOSTS: the Host names clients use to "
            "reach this server (e.g. rescue.example.com:8000), so DNS-rebinding requests are refused."
        )
    elif is_loopback(host):
        own = f"{name}:*"  # e.g. 127.0.0.2 or 127.1, which the SDK's own list misses
        hosts = _LOOPBACK_HOSTS + ([own] if own not in _LOOPBACK_HOSTS else [])
    else:
        hosts = [f"{name}:{port}", name]
    origins = [f"{scheme}://{h}" for h in hosts for scheme in ("http", "https")]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def build_http_app(
    mcp: RescueMCPServer,
    accounts: Settings | Accounts,
    *,
    host: str,
    port: int,
    allow_no_token: bool = False,
    limits: HttpLimits | None = None,
) -> ASGIApp:
    """The ASGI app of `serve --transport http`; refuses to serve without a token unless told so on loopback."""
    limits = limits or HttpLimits()
    settings = accounts if isinstance(accounts, Settings) else accounts.shared  # the HTTP settings are shared
    if settings.http.mcp_token is None:
        if not is_loopback(host):
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
        return JSONResponse(health(accounts))

    starlette_app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=False,
        json_response=False,
        max_request_body_size=MAX_BODY_BYTES,
        session_idle_timeout=limits.session_idle_seconds,
        max_sessions=limits.max_sessions,
        transport_security=security,
        host=host,
    )
    make_room_for_new_sessions(mcp.session_manager)
    starlette_app.router.routes.append(Route(HEALTH_PATH, healthz, methods=["GET"]))
    app: ASGIApp = starlette_app
    if settings.http.mcp_token is not None:
        app = BearerGuard(app, settings.http.mcp_token)
    return app
