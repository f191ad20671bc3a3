"""TCP listeners on 127.0.0.1 for the reachability checks: one that writes a first line to each connection and
closes it (as an SSH server's banner), in a thread of its own so that sync tests (the CLI's `main`) can use it; and a
closed port (bound, then closed again)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["BANNER", "closed_port", "listening"]

BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


@contextmanager
def listening(first_line: bytes = BANNER) -> Iterator[int]:
    """A listener that writes `first_line` to each connection and closes it; yields its port."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.sendall(first_line)

    thread = threading.Thread(target=serve, name="test-listener", daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(5)
        server.close()


def closed_port() -> int:
    """A port nothing listens on (bound for a moment, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
