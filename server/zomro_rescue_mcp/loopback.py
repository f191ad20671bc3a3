"""Serve an ASGI app with uvicorn on a loopback port in a background thread (simulator, tests, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Literal

from starlette.types import ASGIApp

__all__ = ["serve_on_loopback"]


def serve_on_loopback(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    lifespan: Literal["on", "off"] = "off",
    on_stop: Callable[[], None] | None = None,
) -> tuple[str, Callable[[], None]]:
    """Start serving; return the base URL (port 0 picks a free one) and a function that stops the server."""
    import uvicorn

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", access_log=False, lifespan=lifespan, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
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

    url_host = f"[{host}]" if family == socket.AF_INET6 else host
    return f"http://{url_host}:{bound_port}/", stop
