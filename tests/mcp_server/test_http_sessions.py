"""MCP sessions over HTTP: idle ones expire, and at the cap the least recently used idle one makes room."""

from __future__ import annotations

import gc
import logging
import threading
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import httpx2
import pytest

from zomro_rescue_mcp.mcp_server.http_app import build_http_app
from zomro_rescue_mcp.mcp_server.http_limits import HttpLimits
from zomro_rescue_mcp.mcp_server.loopback import serve_on_loopback
from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.config import Settings

from .test_http import MCP_HEADERS, TOKEN, post_initialize

pytestmark = pytest.mark.heavy  # many seconds: make test-heavy

MEMORY_PER_SESSION = 64 * 1024  # the README's bound; measured about 36 KiB (tracemalloc and RSS agree)
SESSION_HEADERS = {**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}", "MCP-Protocol-Version": "2025-11-25"}


@contextmanager
def serving(settings: Settings, limits: HttpLimits) -> Iterator[str]:
    """The HTTP transport served with `limits`; yields its base URL."""
    http_settings = settings.but(mcp_token=TOKEN)
    app = build_http_app(build_server(http_settings), http_settings, host="127.0.0.1", port=0, limits=limits)
    url, stop = serve_on_loopback(app, lifespan="on", limits=limits)
    try:
        yield url
    finally:
        stop()


def open_session(url: str) -> str:
    response = post_initialize(url, Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


def ping(url: str, session: str) -> int:
    """The HTTP status of a ping in `session` (404 once the session is gone)."""
    body = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    headers = {**SESSION_HEADERS, "Mcp-Session-Id": session}
    return httpx2.post(f"{url}mcp", json=body, headers=headers, timeout=10).status_code


class _Announced(logging.Handler):
    """Sets `seen` when a log record contains `text`."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text, self.seen = text, threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()


def test_an_idle_session_expires_after_the_idle_time(settings: Settings) -> None:
    sdk = logging.getLogger("mcp.server.streamable_http_manager")
    level = sdk.level
    with serving(settings, HttpLimits(session_idle_seconds=0.3)) as url:
        session = open_session(url)
        expired = _Announced(f"Session {session} idle timeout")  # the SDK's line when the idle scope fires
        sdk.addHandler(expired)
        sdk.setLevel(logging.INFO)
        try:
            assert expired.seen.wait(timeout=5)
        finally:
            sdk.removeHandler(expired)
            sdk.setLevel(level)
        assert ping(url, session) == 404


def test_at_the_session_cap_the_least_recently_used_idle_session_makes_room(settings: Settings) -> None:
    with serving(settings, HttpLimits(max_sessions=3)) as url:
        first, second, third = open_session(url), open_session(url), open_session(url)
        assert ping(url, first) == 200  # now `second` is the least recently used
        fourth = open_session(url)
        assert ping(url, second) == 404
        assert [ping(url, s) for s in (first, third, fourth)] == [200, 200, 200]


def test_a_session_with_a_request_in_flight_is_not_closed_to_make_room(settings: Settings) -> None:
    with serving(settings, HttpLimits(max_sessions=2)) as url:
        busy = open_session(url)
        listening = {**SESSION_HEADERS, "Accept": "text/event-stream", "Mcp-Session-Id": busy}
        with httpx2.Client(timeout=10) as http, http.stream("GET", f"{url}mcp", headers=listening) as stream:
            assert stream.status_code == 200  # an open GET stream: `busy` has a request in flight
            idle = open_session(url)
            open_session(url)  # at the cap: `busy` is older, but only `idle` may be closed
            assert ping(url, idle) == 404
            assert ping(url, busy) == 200


def test_a_new_session_is_refused_only_when_every_session_has_a_request_in_flight(settings: Settings) -> None:
    with serving(settings, HttpLimits(max_sessions=1)) as url:
        busy = open_session(url)
        listening = {**SESSION_HEADERS, "Accept": "text/event-stream", "Mcp-Session-Id": busy}
        with httpx2.Client(timeout=10) as http, http.stream("GET", f"{url}mcp", headers=listening) as stream:
            assert stream.status_code == 200
            assert post_initialize(url, Authorization=f"Bearer {TOKEN}").status_code == 503
        assert ping(url, busy) == 200


def _traced_bytes() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@contextmanager
def tracing() -> Iterator[None]:
    """Trace allocations, with INFO lines off: pytest keeps every captured record, which is not the server's."""
    logging.disable(logging.INFO)
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()
        logging.disable(logging.NOTSET)


# Measured between two points after tracing has started and a few sessions have gone by: what tracing sees
# right after it starts includes structures merely reallocated (hundreds of KiB, once), not held per session.


def test_an_open_session_holds_less_than_the_documented_memory(settings: Settings) -> None:
    count = 20
    with serving(settings, HttpLimits(max_sessions=count)) as url, tracing():
        for _ in range(4):
            open_session(url)
        before = _traced_bytes()
        for _ in range(count - 4):
            open_session(url)
        per_session = (_traced_bytes() - before) / (count - 4)
    assert per_session < MEMORY_PER_SESSION


@pytest.mark.heavy
def test_the_memory_held_by_sessions_stops_growing_at_the_cap(settings: Settings) -> None:
    cap = 10
    with serving(settings, HttpLimits(max_sessions=cap)) as url, tracing():
        for _ in range(2 * cap):
            open_session(url)  # to the cap, and past it
        growths = []
        for _ in range(2):  # two windows: a one-off allocation (a cache, a late import) shows in one only
            at_cap = _traced_bytes()
            for _ in range(3 * cap):
                open_session(url)  # each one closes the least recently used
            growths.append(_traced_bytes() - at_cap)
    # Without the cap these 30 sessions would hold about 30 x 36 KiB, in each window.
    assert min(growths) < MEMORY_PER_SESSION
