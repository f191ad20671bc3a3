"""Serve an ASGI app with uvicorn on a loopback port in a background thread (simulator, tests, benchmarks).

It serves with the same uvicorn configuration as `serve --transport http` (see http_limits.py), so tests
exercise the bounds the product runs with.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

from starlette.types import ASGIApp

from .http_limits import HttpLimits, fit_to_open_files, listen, uvicorn_server

__all__ = ["serve_on_loopback"]


def serve_on_loopback(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    lifespan: Literal["on", "off"] = "off",
    on_stop: Callable[[], None] | None = None,
    limits: HttpLimits | None = None,
) -> tuple[str, Callable[[], None]]:
    """Start serving; return the base URL (port 0 picks a free one) and a function that stops the server."""
    limits = fit_to_open_files(limits or HttpLimits())
    sock = listen(host, port, limits.backlog)
    bound_port = sock.getsockname()[1]
    server = uvicorn_server(app, limits, lifespan=lifespan, graceful_shutdown=1)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="loopback-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.01)

    def stop() -> None:
        if on_stop is not None:
            on_stop()
        server.should_exit = True
        thread.join(timeout=10.0)

    url_host = f"[{host}]" if ":" in host else host
    return f"http://{url_host}:{bound_port}/", stop
