"""Hardening: a hung-up HTTP client is noticed, previews are audited as such, ids are ASCII digits, and a password
that was only previewed is not remembered.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from zomro_rescue_mcp.core import redact
from zomro_rescue_mcp.mcp_server.http_app import build_http_app
from zomro_rescue_mcp.mcp_server.loopback import serve_on_loopback
from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Simulator

from ..conftest import call, client_for, error, ok
from ..mcp_server.test_http import TOKEN, http_client

pytestmark = pytest.mark.anyio

WEB = 5203773


def audit_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def audited_http(settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    audit = tmp_path / "audit.jsonl"
    http_settings = settings.but(mcp_token=TOKEN, audit_log=str(audit), wait_seconds=1.0)
    app = build_http_app(build_server(http_settings), http_settings, host="127.0.0.1", port=0)
    url, stop = serve_on_loopback(app, lifespan="on")
    yield url, audit
    stop()


def _hang_up_during(url: str, session: str, arguments: dict[str, object]) -> None:
    """Send a confirmed call over a raw connection and close it once the first event (progress) arrived."""
    host, port = url.split("//")[1].rstrip("/").split(":")
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "enter_rescue", "arguments": arguments, "_meta": {"progressToken": 7}},
        }
    )
    head = (
        f"POST /mcp HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json, text/event-stream\r\n"
        f"Content-Type: application/json\r\nAuthorization: Bearer {TOKEN}\r\nmcp-session-id: {session}\r\n"
        f"mcp-protocol-version: 2025-11-25\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head.encode() + body.encode())
        received = b""
        while b"event: message" not in received:  # the watch has begun: progress is flowing
            chunk = connection.recv(4096)
            assert chunk, "the server closed the connection first"
            received += chunk


def _initialize(url: str) -> str:
    import httpx2

    headers = {
        "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json",
        "Authorization": f"Bearer {TOKEN}",
    }
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    answer = httpx2.post(f"{url}mcp", json=init, headers=headers, timeout=10)
    session = answer.headers["mcp-session-id"]
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    httpx2.post(f"{url}mcp", json=done, headers={**headers, "mcp-session-id": session}, timeout=10)
    return session


def test_a_client_hanging_up_on_a_confirmed_enter_is_logged_and_audited_without_the_password(
    audited_http: tuple[str, Path], sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    url, audit = audited_http
    sim.transition_seconds = 30
    caplog.set_level(logging.WARNING, logger="zomro_rescue_mcp")
    _hang_up_during(url, _initialize(url), {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True})
    deadline = time.monotonic() + 15
    while not (audit.exists() and any(r["phase"] == "outcome" for r in audit_lines(audit))):
        assert time.monotonic() < deadline, "no outcome was recorded"
        time.sleep(0.05)
    [outcome] = [r for r in audit_lines(audit) if r["phase"] == "outcome"]
    password = sim.mutating_requests()[0].fields["password"]
    assert outcome["result"] == "executed; password not delivered"
    assert "generated rescue password was not delivered" in caplog.text
    assert password not in caplog.text
    assert password not in audit.read_text(encoding="utf-8")


@pytest.mark.both_eras
async def test_a_client_that_stays_gets_its_result_and_an_executed_record(
    audited_http: tuple[str, Path], sim: Simulator, era: str
) -> None:
    url, audit = audited_http
    async with http_client(url, era) as client:
        data = ok(
            await client.call_tool("enter_rescue", {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True})
        )
    assert data["executed"] is True
    assert [r["result"] for r in audit_lines(audit) if r["phase"] == "outcome"] == ["executed"]


async def test_a_confirmed_call_answered_with_its_preview_is_audited_as_preview_required(
    settings: Settings, sim: Simulator, era: str, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    ruled = settings.but(require_preview=True, audit_log=str(audit))
    async with client_for(ruled, era) as client:
        ok(await call(client, "exit_rescue", instance_id=5203775, confirm=True))
    [record] = audit_lines(audit)
    assert (record["confirmed"], record["result"]) == (True, "preview_required")


@pytest.mark.parametrize("typed", ["١٢", "²", "+5203773", "5_203_773", "5203773.0"])
async def test_an_instance_id_in_an_argument_is_ascii_digits_only(client: Client, sim: Simulator, typed: str) -> None:
    message = error(await call(client, "list_rescue_images", instance_id=typed))
    assert "instance_id" in message
    assert "ASCII digits" in message
    assert sim.requests == []


async def test_a_password_that_was_only_previewed_is_not_remembered(client: Client, sim: Simulator) -> None:
    password = f"Only-Previewed-{secrets.token_hex(4)}A1"
    ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", password=password))
    assert redact.scrub(password) == password


async def test_a_password_that_was_sent_is_masked_from_then_on(client: Client, sim: Simulator) -> None:
    password = f"Sent-Once-{secrets.token_hex(4)}A1"
    ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", password=password, confirm=True))
    assert redact.scrub(password) == redact.MASK
