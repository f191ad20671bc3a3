"""The Streamable HTTP transport: bearer token, Host checks, bounded bodies, health probe, and the tools."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import mcp.types as types
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from zomro_rescue_mcp import __version__
from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.core.errors import ConfigError
from zomro_rescue_mcp.mcp_server.http_app import MAX_BODY_BYTES, _security, build_http_app
from zomro_rescue_mcp.mcp_server.loopback import serve_on_loopback
from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator

from ..conftest import CONSOLE_SCRIPT, call, ok

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]  # a transport suite of many seconds: make test-heavy

TOKEN = "http-token-0123456789abcdef"
WEB = 5203773
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, Settings]]:
    http_settings = settings.but(mcp_token=TOKEN)
    app = build_http_app(build_server(http_settings), http_settings, host="127.0.0.1", port=0)
    url, stop = serve_on_loopback(app, lifespan="on")
    yield url, http_settings
    stop()


def post_initialize(url: str, **headers: str) -> httpx2.Response:
    return httpx2.post(f"{url}mcp", json=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=10)


def test_an_mcp_request_without_the_token_is_refused(served: tuple[str, Settings]) -> None:
    response = post_initialize(served[0])
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in response.text


def test_an_mcp_request_with_a_wrong_token_is_refused(served: tuple[str, Settings]) -> None:
    assert post_initialize(served[0], Authorization="Bearer not-the-token").status_code == 401


def test_an_mcp_request_with_the_token_is_served(served: tuple[str, Settings]) -> None:
    response = post_initialize(served[0], Authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert "zomro-rescue-mcp" in response.text


def test_a_foreign_host_header_is_refused(served: tuple[str, Settings]) -> None:
    response = post_initialize(served[0], Authorization=f"Bearer {TOKEN}", Host="evil.example")
    assert response.status_code == 421


def test_an_oversized_body_is_refused(served: tuple[str, Settings]) -> None:
    body = b'{"jsonrpc": "2.0", "padding": "' + b"x" * (MAX_BODY_BYTES + 1) + b'"}'
    response = httpx2.post(
        f"{served[0]}mcp", content=body, headers={**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert response.status_code == 413


def test_the_health_probe_tells_version_and_mode_without_secrets(served: tuple[str, Settings]) -> None:
    response = httpx2.get(f"{served[0]}healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "name": "zomro-rescue-mcp",
        "version": __version__,
        "accounts": 1,
        "read_only": False,
        "allowlist": False,
        "approval": False,
        "audit": False,
        "token_required": True,
    }
    assert TOKEN not in response.text


@asynccontextmanager
async def http_client(url: str, era: str, **options: Any) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http,
        Client(streamable_http_client(f"{url}mcp", http_client=http), mode=era, cache=None, **options) as client,
    ):
        yield client


@pytest.mark.both_eras
async def test_the_tools_work_over_http_with_progress(served: tuple[str, Settings], sim: Simulator, era: str) -> None:
    sim.transition_seconds = 0.3
    seen: list[str] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message or "")

    async with http_client(served[0], era) as client:
        assert {t.name for t in (await client.list_tools()).tools} >= {"enter_rescue", "exit_rescue"}
        data = ok(
            await client.call_tool(
                "enter_rescue",
                {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True},
                progress_callback=progress,
            )
        )
    assert (data["wait"], data["status"]) == ("reached", "rescued")
    assert seen[0].startswith("rescuing after")
    assert len(sim.mutating_requests()) == 1


def test_an_exposed_bind_without_a_token_refuses_to_start(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="without ZOMRO_MCP_TOKEN"):
        build_http_app(build_server(settings), settings, host="192.0.2.10", port=8000)


def test_a_wildcard_bind_needs_the_allowed_host_names(settings: Settings) -> None:
    with_token = settings.but(mcp_token=TOKEN)
    with pytest.raises(ConfigError, match="ZOMRO_ALLOWED_HOSTS"):
        build_http_app(build_server(with_token), with_token, host="0.0.0.0", port=8000)  # noqa: S104


def test_an_exposed_bind_with_a_token_keeps_host_checks(settings: Settings) -> None:
    with_token = settings.but(mcp_token=TOKEN, allowed_hosts=("rescue.example.com:8000",))
    app = build_http_app(build_server(with_token), with_token, host="0.0.0.0", port=8000)  # noqa: S104
    url, stop = serve_on_loopback(app, lifespan="on")
    try:
        refused = post_initialize(url, Authorization=f"Bearer {TOKEN}")  # Host is 127.0.0.1:port, not allowed
        served = post_initialize(url, Authorization=f"Bearer {TOKEN}", Host="rescue.example.com:8000")
    finally:
        stop()
    assert refused.status_code == 421
    assert served.status_code == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RunningServer:
    """The console script serving HTTP; its output is read when it has stopped."""

    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process, self.url = process, url
        self.stdout = self.stderr = ""

    def stop(self) -> None:
        self.process.terminate()
        self.stdout, self.stderr = self.process.communicate(timeout=30)


@pytest.fixture
def http_process(api_url: str, sim: Simulator) -> Iterator[RunningServer]:
    port = _free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "ZOMRO_API_URL": api_url,
        "ZOMRO_AUTH_TOKEN": sim.new_session(),
        "ZOMRO_USERNAME": DEMO_USERNAME,
        "ZOMRO_PASSWORD": DEMO_PASSWORD,
        "ZOMRO_MCP_TOKEN": TOKEN,
        "ZOMRO_LOG_LEVEL": "DEBUG",
        "ZOMRO_POLL_INTERVAL": "1",
    }
    process = subprocess.Popen(
        [CONSOLE_SCRIPT, "serve", "--transport", "http", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    running = RunningServer(process, f"http://127.0.0.1:{port}/")
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx2.get(f"{running.url}healthz", timeout=1)
            break
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                running.stop()
                pytest.fail(f"the HTTP server did not start: {running.stderr}")
            time.sleep(0.1)
    yield running
    if process.poll() is None:
        running.stop()


@pytest.mark.heavy  # end to end: make test-heavy
@pytest.mark.e2e
@pytest.mark.both_eras
async def test_no_secret_reaches_the_http_servers_log_or_answers(
    http_process: RunningServer, sim: Simulator, era: str
) -> None:
    answers: list[str] = []
    async with http_client(http_process.url, era) as client:
        answers.append((await call(client, "list_instances")).model_dump_json())
        sim.expire_sessions()  # a login with the account password follows
        typed = {"instance_id": WEB, "image": "Ubuntu 22.04", "password": "Typed-Over-Http-9", "confirm": True}
        answers.append((await client.call_tool("enter_rescue", typed)).model_dump_json())
        bad = {"instance_id": WEB, "image": "Ubuntu 22.04", "password": "bad pass #2"}
        answers.append((await client.call_tool("enter_rescue", bad)).model_dump_json())
    http_process.stop()
    secrets = {DEMO_PASSWORD, TOKEN, "Typed-Over-Http-9", "bad pass #2"}
    secrets |= {r.fields["auth"] for r in sim.requests if "auth" in r.fields}
    assert len(secrets) == 6  # the configured session and the one from the login are both checked
    for secret in secrets:
        assert secret not in http_process.stderr
        assert secret not in http_process.stdout
        assert all(secret not in answer for answer in answers)
    assert "logged in" in http_process.stderr


def test_a_foreign_origin_is_refused(served: tuple[str, Settings]) -> None:
    response = post_initialize(served[0], Authorization=f"Bearer {TOKEN}", Origin="https://evil.example")
    assert response.status_code == 403


def test_http_without_a_token_needs_an_explicit_flag_even_on_loopback(settings: Settings) -> None:
    with pytest.raises(ConfigError, match="--allow-no-token"):
        build_http_app(build_server(settings), settings, host="127.0.0.1", port=8000)
    with pytest.raises(ConfigError, match="without ZOMRO_MCP_TOKEN"):
        build_http_app(build_server(settings), settings, host="192.0.2.10", port=8000, allow_no_token=True)


def test_loopback_without_a_token_serves_when_told_to(settings: Settings) -> None:
    app = build_http_app(build_server(settings), settings, host="127.0.0.1", port=0, allow_no_token=True)
    url, stop = serve_on_loopback(app, lifespan="on")
    try:
        assert post_initialize(url).status_code == 200
    finally:
        stop()


def test_an_ipv6_bind_allows_its_bracketed_host(settings: Settings) -> None:
    security = _security(settings.but(mcp_token=TOKEN), "2001:db8::1", 8000)
    assert security is not None
    assert security.allowed_hosts == ["[2001:db8::1]:8000", "[2001:db8::1]"]


@pytest.mark.both_eras
async def test_approval_works_over_http(settings: Settings, sim: Simulator, era: str) -> None:
    asked: list[str] = []

    async def person(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"instance_id": "5203775"})

    approving = settings.but(mcp_token=TOKEN, require_approval=True)
    app = build_http_app(build_server(approving), approving, host="127.0.0.1", port=0)
    approval_url, stop = serve_on_loopback(app, lifespan="on")
    try:
        async with http_client(approval_url, era, elicitation_callback=person) as client:
            data = ok(await call(client, "exit_rescue", instance_id=5203775, confirm=True))
    finally:
        stop()
    assert data["executed"] is True
    assert "5203775" in asked[0]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_the_authorization_scheme_is_case_insensitive(served: tuple[str, Settings], scheme: str) -> None:
    assert post_initialize(served[0], Authorization=f"{scheme} {TOKEN}").status_code == 200


def test_the_token_under_another_scheme_is_refused(served: tuple[str, Settings]) -> None:
    assert post_initialize(served[0], Authorization=f"Basic {TOKEN}").status_code == 401


# How 0.0.0.0 and :: may be written to --host (socket.inet_aton reads "0" and "0.0" as 0.0.0.0).
ALL_INTERFACES = ["0", "0.0", "0.0.0.0", "000.000.000.000", "", "::", "::0", "0:0:0:0:0:0:0:0", "::ffff:0.0.0.0"]  # noqa: S104


@pytest.mark.parametrize("host", ALL_INTERFACES)
def test_every_spelling_of_all_interfaces_needs_the_allowed_host_names(settings: Settings, host: str) -> None:
    with_token = settings.but(mcp_token=TOKEN)
    with pytest.raises(ConfigError, match="ZOMRO_ALLOWED_HOSTS"):
        build_http_app(build_server(with_token), with_token, host=host, port=8000)


@pytest.mark.parametrize("host", ALL_INTERFACES)
def test_every_spelling_of_all_interfaces_needs_a_token(settings: Settings, host: str) -> None:
    with pytest.raises(ConfigError, match="without ZOMRO_MCP_TOKEN"):
        build_http_app(build_server(settings), settings, host=host, port=8000, allow_no_token=True)


@pytest.mark.parametrize("host", ["127.0.0.2", "127.1", "::ffff:127.0.0.1", "localhost"])
def test_every_loopback_spelling_counts_as_loopback(settings: Settings, host: str) -> None:
    build_http_app(build_server(settings), settings, host=host, port=8000, allow_no_token=True)  # no token needed
    security = _security(settings, host, 8000)
    assert security.enable_dns_rebinding_protection
    assert "127.0.0.1:*" in security.allowed_hosts


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--simulator", "--transport", "http", "--port", "0"],
        ["serve", "--simulator", "--transport", "http", "--port", "65536"],
        ["serve", "--simulator", "--transport", "http", "--port", "-1"],
        ["simulator", "--port", "0"],
        ["simulator", "--port", "70000"],
    ],
)
def test_a_port_outside_1_to_65535_is_one_sentence_at_start(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv, {"ZOMRO_MCP_TOKEN": TOKEN}) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [f"zomro-rescue-mcp: --port must be between 1 and 65535, not {argv[-1]}."]


@pytest.mark.usefixtures("restore_logging")
def test_a_port_in_use_is_one_sentence_at_start(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        argv = ["serve", "--simulator", "--transport", "http", "--port", str(port)]
        assert main(argv, {"ZOMRO_MCP_TOKEN": TOKEN, "ZOMRO_LOG_LEVEL": "WARNING"}) == 2
    sentence = f"Cannot listen on 127.0.0.1:{port} (Address already in use); choose another --host or --port."
    assert capsys.readouterr().err.splitlines() == [f"zomro-rescue-mcp: {sentence}"]
