"""Shared fixtures: the simulator on real loopback HTTP, settings pointing at it, MCP clients of both eras."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from zomro_rescue_mcp.config import Settings
from zomro_rescue_mcp.mcp_server import build_server
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Behaviour, Simulator, run_on_loopback

# The console script installed beside the interpreter running the tests (the venv's bin/).
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("zomro-rescue-mcp"))
ERAS = ["legacy", "auto"]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """main() installs its stderr handler on the root logger, as the real process does; undo it after a test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def loopback() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator(transition_seconds=0.0)
    url, stop = run_on_loopback(sim)
    yield sim, url
    stop()


@pytest.fixture
def sim(loopback: tuple[Simulator, str]) -> Iterator[Simulator]:
    simulator = loopback[0]
    simulator.reset()
    yield simulator
    simulator.reset()
    simulator.transition_seconds, simulator.max_page_size = 0.0, None
    simulator.failing_rescues.clear()
    simulator.transition_lag = 0.0
    simulator.latency = 0.0
    simulator.behaviour = Behaviour()


@pytest.fixture
def api_url(loopback: tuple[Simulator, str]) -> str:
    return loopback[1]


@pytest.fixture
def settings(api_url: str, sim: Simulator) -> Settings:
    """The server's settings for tests of one behaviour each.

    The preview rule (on by default: a confirmed change only after its own preview) has its own tests in
    test_preview_rule.py, and the CLI and demo tests run with it on; elsewhere a test may confirm directly.
    """
    return Settings(
        api_url=api_url,
        username=DEMO_USERNAME,
        password=DEMO_PASSWORD,
        timeout=1.0,
        wait_seconds=5.0,
        poll_interval=0.05,
        require_preview=False,
    )


@pytest.fixture
def settings_(settings: Settings) -> Settings:
    """The same settings under a name that does not clash with hypothesis's `settings` decorator."""
    return settings


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def client(settings: Settings, era: str) -> AsyncIterator[Client]:
    async with Client(build_server(settings), mode=era, cache=None) as connected:
        yield connected


def client_for(settings: Settings, era: str, **options: Any) -> Client:
    """A client of a server built from `settings` (not yet connected: use `async with`)."""
    return Client(build_server(settings), mode=era, cache=None, **options)


async def cancel_once_watching(client: Client, tool: str, arguments: dict[str, Any]) -> None:
    """Call a confirmed tool and cancel the call at its first progress notification (the watch has begun)."""
    first = anyio.Event()

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        first.set()

    with anyio.fail_after(15):
        async with anyio.create_task_group() as group:

            async def confirmed() -> None:
                await client.call_tool(tool, arguments, progress_callback=progress)

            group.start_soon(confirmed)
            await first.wait()
            group.cancel_scope.cancel()


async def call(client: Client, tool: str, **arguments: Any) -> CallToolResult:
    """Call a tool with keyword arguments."""
    return await client.call_tool(tool, arguments)


def text(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def ok(result: CallToolResult) -> dict[str, Any]:
    """The structured content of a successful result (fails the test with the error text otherwise)."""
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


def error(result: CallToolResult) -> str:
    """The sentence of an error result (fails the test if the call succeeded)."""
    assert result.is_error, f"expected an error, got {result.structured_content}"
    return text(result)


@asynccontextmanager
async def stdio_server(env: dict[str, str], era: str, errlog: TextIO) -> AsyncIterator[Client]:
    params = StdioServerParameters(command=CONSOLE_SCRIPT, args=["serve"], env=env)
    async with Client(stdio_client(params, errlog=errlog), mode=era, cache=None) as client:
        yield client


@pytest.fixture
def server_env(api_url: str, sim: Simulator) -> dict[str, str]:
    return {
        "ZOMRO_API_URL": api_url,
        "ZOMRO_USERNAME": DEMO_USERNAME,
        "ZOMRO_PASSWORD": DEMO_PASSWORD,
        "ZOMRO_TIMEOUT": "2",
        "ZOMRO_LOG_LEVEL": "DEBUG",
        "ZOMRO_REQUIRE_PREVIEW": "0",  # see `settings`
    }
