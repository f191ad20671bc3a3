"""The bounds the HTTP transport keeps under floods: connections, request reading time, sessions and log lines.

Every client shares one token, so the server cannot tell a flood from a person. What it can do is bound what
any client may hold (a socket, a session, a log line) and, when a bound is reached, give way by closing what
has waited longest without asking for anything, so a client that does ask is served.
"""

from __future__ import annotations

import asyncio
import logging
import math
import resource
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar, Literal

from ..core.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn
    from mcp.server.auth.middleware.bearer_auth import AuthorizationContext
    from mcp.server.streamable_http import StreamableHTTPServerTransport
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
    from starlette.types import ASGIApp

__all__ = [
    "HttpLimits",
    "RepeatFilter",
    "fit_to_open_files",
    "listen",
    "make_room_for_new_sessions",
    "serve",
    "uvicorn_server",
]

REQUEST_SECONDS = 10.0  # a connection delivers a whole request (headers and body) this soon after opening
KEEP_ALIVE_SECONDS = 5  # uvicorn's default: an idle keep-alive connection is closed after this
MAX_CONNECTIONS = 128  # open HTTP connections; fewer if the open-file limit is low (see fit_to_open_files)
MAX_SESSIONS = 256  # open MCP sessions; more than MAX_CONNECTIONS, so at the cap some session is always idle
SESSION_IDLE_SECONDS = 600.0  # a session with no request in flight for this long is closed
BACKLOG = 32  # kernel queue, and connections accepted per event-loop turn (asyncio uses it for both)
MAX_HEADER_BYTES = 8 * 1024  # an unfinished request head is buffered up to this, then refused (400)
LOG_REPEAT_SECONDS = 10.0  # an identical log line is written once per this interval

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpLimits:
    """The numbers above, in one value the server and the tests share (tests lower them to stay fast)."""

    request_seconds: float = REQUEST_SECONDS
    keep_alive_seconds: int = KEEP_ALIVE_SECONDS
    max_connections: int = MAX_CONNECTIONS
    max_sessions: int = MAX_SESSIONS
    session_idle_seconds: float = SESSION_IDLE_SECONDS
    backlog: int = BACKLOG
    max_header_bytes: int = MAX_HEADER_BYTES


def fit_to_open_files(limits: HttpLimits, open_files: int | None = None) -> HttpLimits:
    """`limits` with the connection cap and the backlog lowered to fit the open-file limit (the process's by default).

    asyncio accepts up to `backlog` connections per turn of the event loop before the cap can close any, so
    client sockets peak near cap + 3 x backlog (measured). Keeping the cap within a quarter of the limit and the
    backlog within a sixteenth leaves half the limit to the rest (API connections, audit file, event loop), so
    accept() does not meet "too many open files", whose error asyncio logs for every pending connection.
    """
    if open_files is None:
        open_files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if open_files == resource.RLIM_INFINITY:
            return limits
    return replace(
        limits,
        max_connections=max(1, min(limits.max_connections, open_files // 4)),
        backlog=max(1, min(limits.backlog, open_files // 16)),
    )


def listen(host: str, port: int, backlog: int) -> socket.socket:
    """Bind and listen before uvicorn starts, so a taken port or a wrong address is one sentence."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say so, and without it a small
    # answer waits ~40 ms for the client's delayed ACK (measured: 44 ms a request instead of 1.7 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"Cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --host or --port."
        ) from None
    sock.setblocking(False)
    return sock


def serve(app: ASGIApp, host: str, port: int, limits: HttpLimits | None = None) -> None:
    """Serve `app` on host:port until Ctrl-C or SIGTERM with every bound here (the command line's HTTP servers).

    Also rate-limits repeated lines on the root logger's handlers, which uvicorn's and the SDK's lines pass.
    """
    limits = fit_to_open_files(limits or HttpLimits())
    for handler in logging.getLogger().handlers:
        handler.addFilter(RepeatFilter())
    sock = listen(host, port, limits.backlog)
    try:
        uvicorn_server(app, limits).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn has shut down gracefully already: Ctrl-C is how a server stops
        pass
    finally:
        sock.close()


def uvicorn_server(
    app: ASGIApp,
    limits: HttpLimits,
    *,
    lifespan: Literal["on", "off"] = "on",
    graceful_shutdown: int | None = None,
) -> uvicorn.Server:
    """The uvicorn server for `app` with the connection bounds of `limits` (fitted); run it on a `listen` socket."""
    import uvicorn

    config = uvicorn.Config(
        app,
        http=_guarded_h11(limits.max_connections, limits.request_seconds),
        ws="none",  # an upgraded connection would leave the connection count and its deadline behind
        lifespan=lifespan,
        log_config=None,  # uvicorn's lines go through our stderr handler and its filters
        log_level="warning",
        access_log=False,
        timeout_keep_alive=limits.keep_alive_seconds,
        backlog=limits.backlog,
        h11_max_incomplete_event_size=limits.max_header_bytes,
        timeout_graceful_shutdown=graceful_shutdown,
    )
    return uvicorn.Server(config)


def _guarded_h11(cap: int, request_seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with a deadline for reading each request and a cap on open connections.

    Measured on uvicorn 0.54: a connection that never sends a byte, or sends its request slowly, is held
    forever (the keep-alive timer starts only after a response), and `limit_concurrency` answers 503 but
    keeps the socket. So the deadline and the cap are enforced here, per connection.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        # Connections that owe a complete request, oldest first (a dict keeps insertion order): the ones to
        # close first at the cap. One dict per server, as this class is made per server.
        owing: ClassVar[dict[GuardedH11Protocol, None]] = {}
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._expect_request()
            open_now = sum(1 for c in self.connections if not c.transport.is_closing())
            if open_now > cap:
                # Make room by closing the connection that has owed a request the longest: an idle flood
                # cannot then lock out a client that sends its request as soon as it connects.
                oldest = next(iter(self.owing))
                logger.debug("closing an idle connection: %d connections are open", open_now)
                oldest._close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._stop_clock_once_received()

        def on_response_complete(self) -> None:
            self._expect_request()  # before super(), which may already start a pipelined request
            super().on_response_complete()
            self._stop_clock_once_received()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_clock()
            super().connection_lost(exc)

        def _expect_request(self) -> None:
            self._stop_clock()
            self.owing[self] = None
            self._deadline = self.loop.call_later(request_seconds, self._close)

        def _stop_clock_once_received(self) -> None:
            cycle = self.cycle
            if cycle is not None and not cycle.more_body and not cycle.response_complete:
                self._stop_clock()

        def _stop_clock(self) -> None:
            self.owing.pop(self, None)
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _close(self) -> None:
            self._stop_clock()
            self.transport.close()

    return GuardedH11Protocol


def make_room_for_new_sessions(manager: StreamableHTTPSessionManager) -> None:
    """At the session cap, close the least recently used idle session instead of refusing the newcomer.

    The SDK answers 503 at its cap until a session expires, which let one client lock everyone out. A session
    with a request in flight (an open GET stream included) is never closed; when every session has one, the
    SDK's 503 stands.
    """
    # The SDK (2.3) decides admission in `_admit_session`, synchronously and under its creation lock, so making
    # room there cannot race with another opening request. Private API: tests/mcp_server/test_http_sessions.py pins it.
    admit = manager._admit_session

    def admit_making_room(requestor: AuthorizationContext | None) -> StreamableHTTPServerTransport | None:
        if manager.max_sessions is not None and len(manager._server_instances) >= manager.max_sessions:
            _close_least_recently_used_idle_session(manager)
        return admit(requestor)

    manager._admit_session = admit_making_room  # type: ignore[method-assign]


def _close_least_recently_used_idle_session(manager: StreamableHTTPSessionManager) -> None:
    # A transport's idle deadline is infinite while a request is in flight and "end of the last request +
    # idle time" otherwise, so the smallest finite deadline is the session idle the longest.
    idle = [
        (scope.deadline, session_id)
        for session_id, transport in manager._server_instances.items()
        if (scope := transport.idle_scope) is not None and scope.deadline != math.inf
    ]
    if not idle:
        return
    _, session_id = min(idle)
    transport = manager._server_instances.pop(session_id)
    manager._session_owners.pop(session_id, None)
    assert transport.idle_scope is not None
    # Ends the session's message loop as its idle timeout would; the SDK then terminates the transport.
    transport.idle_scope.cancel()
    logger.info("closed the least recently used idle session to open a new one (%d open)", manager.max_sessions)


@dataclass
class _Repeats:
    since: float
    suppressed: int = 0


class RepeatFilter(logging.Filter):
    """Lets an identical log line through once per `interval` seconds; the next one says how many were dropped.

    Under a flood the same error can be logged thousands of times a second (46 MB in 25 s was seen); the
    first occurrence says all there is to say.
    """

    def __init__(
        self,
        interval: float = LOG_REPEAT_SECONDS,
        *,
        remembered: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._interval, self._remembered, self._clock = interval, remembered, clock
        self._seen: dict[tuple[str, int, str], _Repeats] = {}
        self._lock = threading.Lock()  # handlers filter before taking their own lock

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        key = (record.name, record.levelno, message)
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen.since < self._interval:
                seen.suppressed += 1
                return False
            self._seen.pop(key, None)
            self._seen[key] = _Repeats(now)
            if len(self._seen) > self._remembered:  # many distinct lines: forget the oldest
                del self._seen[next(iter(self._seen))]
        if seen is not None and seen.suppressed:
            record.msg = f"{message} [{seen.suppressed} identical lines suppressed in {now - seen.since:.0f} s]"
            record.args = None
        return True
