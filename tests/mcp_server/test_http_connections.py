"""HTTP connections under a flood: idle and slow ones are closed in bounded time, and their number is capped."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import anyio
import httpx2
import pytest
from starlette.types import Receive, Scope, Send

from zomro_rescue_mcp.mcp_server.http_app import build_http_app
from zomro_rescue_mcp.mcp_server.http_limits import HttpLimits, fit_to_open_files
from zomro_rescue_mcp.mcp_server.loopback import serve_on_loopback
from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.config import Settings

from .test_http import TOKEN

pytestmark = pytest.mark.heavy  # many seconds: make test-heavy

QUICK = HttpLimits(request_seconds=0.3)  # the product's 10 s, shortened so the tests stay fast


@contextmanager
def serving(settings: Settings, limits: HttpLimits) -> Iterator[tuple[str, int]]:
    """The HTTP transport served with `limits`; yields its base URL and port."""
    http_settings = settings.but(mcp_token=TOKEN)
    app = build_http_app(build_server(http_settings), http_settings, host="127.0.0.1", port=0, limits=limits)
    url, stop = serve_on_loopback(app, lifespan="on", limits=limits)
    try:
        yield url, int(urlsplit(url).port or 0)
    finally:
        stop()


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes `sock` within `within` seconds (what it sent first is read and dropped)."""
    sock.settimeout(within)
    try:
        for _ in range(100):
            if not sock.recv(4096):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return False


def test_a_connection_that_sends_nothing_is_closed_after_the_request_time(settings: Settings) -> None:
    with serving(settings, QUICK) as (_, port), socket.create_connection(("127.0.0.1", port)) as idle:
        started = time.monotonic()
        assert closed_by_server(idle, within=5)
    assert time.monotonic() - started < 3


def test_a_request_whose_headers_come_slowly_is_closed_after_the_request_time(settings: Settings) -> None:
    with serving(settings, QUICK) as (_, port), socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
        started = time.monotonic()
        assert closed_by_server(slow, within=5)
    assert time.monotonic() - started < 3


def test_a_request_whose_body_comes_slowly_is_closed_after_the_request_time(settings: Settings) -> None:
    head = (
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: 1000\r\n\r\n"
    )
    with serving(settings, QUICK) as (_, port), socket.create_connection(("127.0.0.1", port)) as slow:
        slow.sendall(head.encode() + b'{"jsonrpc": ')  # 12 of the 1000 bytes announced
        started = time.monotonic()
        assert closed_by_server(slow, within=5)
    assert time.monotonic() - started < 3


def test_an_answer_that_takes_longer_than_the_request_time_is_delivered() -> None:
    async def slow_answer(scope: Scope, receive: Receive, send: Send) -> None:
        await anyio.sleep(0.6)  # twice the 0.3 s given to the request
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    url, stop = serve_on_loopback(slow_answer, limits=QUICK)
    try:
        response = httpx2.get(url, timeout=10)
    finally:
        stop()
    assert response.text == "done"


def test_at_the_connection_cap_the_oldest_idle_connections_are_closed(settings: Settings) -> None:
    cap, flood = 16, 48
    limits = HttpLimits(max_connections=cap)
    with serving(settings, limits) as (url, port):
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(flood)]
        try:
            assert httpx2.get(f"{url}healthz", timeout=5).status_code == 200
            closed = 0
            deadline = time.monotonic() + 5
            while idle and time.monotonic() < deadline:
                readable, _, _ = select.select(idle, [], [], 0.5)
                for sock in readable:
                    if closed_by_server(sock, within=0.5):
                        idle.remove(sock)
                        sock.close()
                        closed += 1
                if flood - closed <= cap:
                    break
        finally:
            for sock in idle:
                sock.close()
    assert flood - closed <= cap


def test_the_connection_cap_and_backlog_fit_a_low_open_file_limit() -> None:
    fitted = fit_to_open_files(HttpLimits(), open_files=256)
    assert (fitted.max_connections, fitted.backlog) == (64, 16)
    assert fit_to_open_files(HttpLimits(), open_files=1024) == HttpLimits()


def test_an_unfinished_request_head_over_8_kib_is_refused(settings: Settings) -> None:
    with serving(settings, HttpLimits()) as (_, port), socket.create_connection(("127.0.0.1", port)) as greedy:
        greedy.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"x" * 9000)  # no end of head
        greedy.settimeout(5)  # well before the 10 s request time
        assert greedy.recv(4096).startswith(b"HTTP/1.1 400 ")


def test_a_small_answer_does_not_wait_for_the_clients_delayed_ack() -> None:
    async def small_answer(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    url, stop = serve_on_loopback(small_answer)
    try:
        with httpx2.Client(timeout=5) as http:
            http.get(url)
            started = time.monotonic()
            for _ in range(20):
                http.get(url)
            per_request = (time.monotonic() - started) / 20
    finally:
        stop()
    assert per_request < 0.02  # with Nagle's algorithm on, each answer waited ~40 ms (measured 44 ms, now ~1 ms)
