"""The long-running commands: `serve`, the MCP server over stdio or HTTP (announced in the log), and `simulator`, the
simulated Zomro API over HTTP on loopback."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..core.errors import ConfigError
from .wiring import Wired, wire

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from ..simulator import Simulator

__all__ = ["run_server", "run_simulator"]


def run_server(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """`serve`: every start condition checked and logged, then the MCP server until it stops; the exit status. With
    --simulator, the simulator's rescue systems are stopped when it stops."""
    http = getattr(args, "transport", "stdio") == "http"
    if http and not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, not {args.port}.")
    wired = wire(args, env)
    if wired.simulator is not None and wired.simulator.rescue_systems is not None:
        _stop_on_sigterm(wired.simulator)
    try:
        return _serve(args, wired, http)
    finally:
        if wired.simulator is not None:
            wired.simulator.close()


def _stop_on_sigterm(simulator: Simulator) -> None:
    """SIGTERM (how an MCP client ends a server that did not stop when its stdin closed) first stops the simulator's
    rescue systems (a rescue VM's QEMU, its files), then ends the process as SIGTERM would have."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set a signal's handler

    def stop(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM while stopping would cut it short
        simulator.close()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)


def _serve(args: argparse.Namespace, wired: Wired, http: bool) -> int:
    accounts = wired.accounts
    from ..mcp_server.server import build_server

    server = build_server(accounts, transport=wired.transport)
    shared = accounts.shared
    app: ASGIApp | None = None
    if http:
        from ..mcp_server.http_app import build_http_app

        # Every start condition of the HTTP transport (token, Host names) is checked here, before the announcement.
        app = build_http_app(server, accounts, host=args.host, port=args.port, allow_no_token=args.allow_no_token)
    log = logging.getLogger("zomro_rescue_mcp")
    log.info(
        "serving over %s: %d account(s) from %s, audit %s, preview rule %s",
        f"http on {args.host}:{args.port}" if http else "stdio",
        len(accounts.settings),
        accounts.source
        or "the environment" + (f" (ZOMRO_CONFIG=none: {accounts.skipped} is not read)" if accounts.skipped else ""),
        shared.guard_rails.audit_log or "off",
        "on" if shared.guard_rails.require_preview else "off (ZOMRO_REQUIRE_PREVIEW)",
    )
    systems = wired.simulator.rescue_systems if wired.simulator is not None else None
    if systems is not None:
        log.info(
            "simulator: a rescued instance's rescue system is the %s, on 127.0.0.N port %d",
            "rescue VM" if args.rescue_system == "vm" else "stand-in (a recorded diagnosis)",
            shared.rescue.ssh_port,
        )
    for settings in accounts.settings:
        rails = settings.guard_rails
        log.info(
            "account %s%s: endpoint %s, auth %s, read-only %s, allowlist %s, approval %s",
            settings.api.account,
            " (default)" if settings.api.account == accounts.default else "",
            "simulator" if settings.api.simulator else settings.api.api_url,
            settings.api.auth_kind,
            "on" if rails.read_only else "off",
            "on" if rails.allowed_instances is not None else "off",
            {"always": "on", "auto": "auto", "never": "off"}[rails.require_approval],
        )
    if app is None:
        server.run()
        return 0
    from ..mcp_server.http_limits import serve

    serve(app, args.host, args.port)
    return 0


def run_simulator(port: int) -> int:
    """`simulator`: one simulated account on 127.0.0.1, its login on stderr, until Ctrl-C; the exit status."""
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, not {port}.")
    from ..mcp_server.http_limits import serve
    from ..simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator

    print(  # stdout ok: to stderr
        f"Simulated Zomro API on http://127.0.0.1:{port}/ (login {DEMO_USERNAME} / {DEMO_PASSWORD}); Ctrl-C stops.",
        file=sys.stderr,
    )
    serve(Simulator().app, "127.0.0.1", port)
    return 0
