"""The HTTP server as shipped (the console script) under floods: a token holder is served and the log stays short."""

from __future__ import annotations

import logging
import os
import resource
import select
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest

from zomro_rescue_mcp.mcp_server.http_limits import RepeatFilter

from ..conftest import CONSOLE_SCRIPT
from .test_http import TOKEN, _free_port, http_client

pytestmark = pytest.mark.anyio

OPEN_FILES = 256  # the server's open-file limit in these tests: a flood of FLOOD connections exceeds it
FLOOD = 300


class RunningServer:
    def __init__(self, url: str, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.port, self.process, self.log = url, port, process, log

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))


@contextmanager
def console_server(tmp_path: Path, *, open_files: int) -> Iterator[RunningServer]:
    """`serve --transport http --simulator` with `ulimit -n open_files`, its stderr in a file."""
    port = _free_port()
    command = [CONSOLE_SCRIPT, "serve", "--transport", "http", "--simulator", "--port", str(port)]
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            ["/bin/sh", "-c", f'ulimit -n {open_files} && exec "$0" "$@"', *command],
            env={"PATH": "/usr/bin:/bin", "ZOMRO_MCP_TOKEN": TOKEN},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    server = RunningServer(f"http://127.0.0.1:{port}/", port, process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx2.get(f"{server.url}healthz", timeout=1)
                break
            except httpx2.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the HTTP server did not start: {log.read_text()}")
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def idle_connections(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that never send a byte, all established (or already closed by the server) on entry."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count + 256:
        wanted = count + 256 if hard == resource.RLIM_INFINITY else min(hard, count + 256)
        if wanted < count + 64:
            pytest.skip(f"this process may open only {hard} files")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", port))
            socks.append(sock)
        pending, deadline = list(socks), time.monotonic() + 20
        while pending and time.monotonic() < deadline:  # the kernel completes the handshakes as the server accepts
            _, writable, _ = select.select([], pending, [], 0.5)
            pending = [s for s in pending if s not in writable]
        assert not pending, f"{len(pending)} of {count} connections were never accepted"
        yield socks
    finally:
        for sock in socks:
            sock.close()


@pytest.mark.e2e
@pytest.mark.heavy
async def test_a_token_holder_is_served_during_an_idle_connection_flood(tmp_path: Path) -> None:
    with console_server(tmp_path, open_files=OPEN_FILES) as server, idle_connections(server.port, FLOOD):
        with anyio.fail_after(20):
            async with http_client(server.url, "legacy") as client:
                tools = {tool.name for tool in (await client.list_tools()).tools}
        health = httpx2.get(f"{server.url}healthz", timeout=5)
        open_files = server.open_files()
    assert "list_instances" in tools
    assert health.status_code == 200
    assert open_files < OPEN_FILES
    assert "Too many open files" not in server.log.read_text()


@pytest.mark.e2e
@pytest.mark.heavy
async def test_the_http_server_writes_a_repeated_error_once_per_interval(tmp_path: Path) -> None:
    with console_server(tmp_path, open_files=OPEN_FILES) as server:
        for _ in range(50):
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as garbage:
                garbage.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                while garbage.recv(4096):  # uvicorn answers 400 and closes
                    pass
    assert server.log.read_text().count("Invalid HTTP request received.") == 1


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _logger(name: str, repeats: RepeatFilter) -> tuple[logging.Logger, list[str]]:
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Collect()
    handler.addFilter(repeats)
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, lines


def test_a_repeated_log_line_passes_once_per_interval() -> None:
    logger, lines = _logger("tests.repeats.once", RepeatFilter(10.0, clock=_Clock()))
    for _ in range(1000):
        logger.warning("socket.accept() out of system resource")
    logger.warning("a different line")
    assert lines == ["socket.accept() out of system resource", "a different line"]


def test_the_first_repeat_after_the_interval_says_how_many_were_suppressed() -> None:
    clock = _Clock()
    logger, lines = _logger("tests.repeats.count", RepeatFilter(10.0, clock=clock))
    for _ in range(5):
        logger.warning("overloaded %s", "x")
    clock.now = 10.0
    logger.warning("overloaded %s", "x")
    assert lines == ["overloaded x", "overloaded x [4 identical lines suppressed in 10 s]"]
