"""Shared fixtures: the simulator on real loopback HTTP, settings pointing at it, MCP clients of either era.

Which protocol era a test runs in (the rule of the test pyramid):
- A test that asks for `era` (or for `client`, which uses it) runs once, in DEFAULT_ERA: the tools, the rescue
  pipeline and the API handling beneath them are the same code whatever era the client speaks.
- A test about the protocol itself is marked `@pytest.mark.both_eras` and runs in both, the handshake era
  ("legacy") and the modern one ("auto"): what tools/list and prompts/list serve (names, annotations, schemas,
  instructions), elicitation (approval), progress notifications, cancellation, structured content and the `_meta`
  kind, the transports (over stdio and Streamable HTTP: progress, cancellation, approval, and that no secret typed
  into an argument reaches their logs) and the preview rule across requests and sessions. Mark the test, not the
  module, unless every test in it is about the protocol.
- Tests of pure rules (passwords, images, state rules, parsing, rendering) need no MCP at all: test_wire.py,
  test_preflight_rules.py, test_passwords.py, test_redact.py, test_config_values.py.
- End-to-end tests (a subprocess: the console script, the demo, packaging, the benchmark smoke) are marked `e2e`;
  they run in `make test` too (`-m "not e2e"` leaves them out for a quick loop). The few that run a whole program
  for many seconds (the benchmark script, the wheels built and installed alone, the Python example, the demo beside an
  accounts file and the demo's whole story as a subprocess; tests/cli/test_demo.py keeps one demo run in
  `make test`), the demo on a replayed capture, the floods and the session-memory cap of the HTTP transport, the
  fuzzing under an allowlist and read-only (the open server is fuzzed in `make test`), and the pre-flight and
  waiting once more through the stdio transport (tests/mcp_server/test_stdio_states.py), are also marked `heavy`:
  `make test-heavy` runs them, and CI runs it, but `make test` does not, so it stays within a minute.
- No test orders events with a sleep: wait for the thing itself (`sim.wait_for_request`, `logged`, a line in a
  server's stderr). A short sleep may only check that nothing happens during a window.
"""

from __future__ import annotations

import functools
import logging
import os
import ssl
import sys
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from zomro_rescue_mcp.core import redact
from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.accounts import Accounts
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Behaviour, Simulator, run_on_loopback

# The console script installed beside the interpreter running the tests (the venv's bin/).
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("zomro-rescue-mcp"))
ERAS = ["legacy", "auto"]  # the handshake era, then the modern one (what the official Client negotiates by default)
# The era of every test not marked both_eras; ZOMRO_TEST_ERA=legacy runs them all in the handshake era instead.
DEFAULT_ERA = os.environ.get("ZOMRO_TEST_ERA", "auto")
if DEFAULT_ERA not in ERAS:
    raise pytest.UsageError(f"ZOMRO_TEST_ERA must be one of {', '.join(ERAS)}, not {DEFAULT_ERA!r}")


@pytest.fixture(scope="session", autouse=True)
def one_tls_context() -> Iterator[None]:
    """Every httpx2 client of a test process shares the one default TLS context, built once.

    httpx2 builds a new one for every client, and each reads the system's CA bundle (~35 ms of CPU); the product
    builds an API client for every server a test starts, so about a quarter of the CPU of the in-process tests
    went there. The shared context is the very one httpx2 would build (same CAs, same checks). Nothing in the tests
    speaks TLS anyway: the simulator serves plain HTTP on loopback. Subprocesses are not affected.
    """
    from httpx2._transports import default  # where httpx2's transports look the builder up

    build = httpx2.create_ssl_context
    shared = functools.cache(lambda trust_env: build(verify=True, trust_env=trust_env))

    def create(verify: ssl.SSLContext | str | bool = True, cert: Any = None, trust_env: bool = True) -> ssl.SSLContext:
        if verify is True and cert is None:
            return shared(trust_env)
        return build(verify=verify, cert=cert, trust_env=trust_env)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(default, "create_ssl_context", create)
        yield


@pytest.fixture(autouse=True)
def secrets_learnt_in_this_test_only() -> Iterator[None]:
    """A secret a test's run learnt (a typed password, a session id) is masked for that test only: a refused
    password such as "short" must not mask the word in another test's sentence run later in the same worker."""
    registry = redact._registry
    with registry.lock:
        kept = (OrderedDict(registry.recent), OrderedDict(registry.recent_for_logs))
    yield
    with registry.lock:
        registry.recent, registry.recent_for_logs = kept
        registry._reorder()


@pytest.fixture(autouse=True)
def no_accounts_file(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the accounts file of the person running it: the default place is an empty folder."""
    home = tmp_path_factory.getbasetemp() / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("ZOMRO_CONFIG", raising=False)


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


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked both_eras that uses `era` (directly or through `client`) runs once per era."""
    if "era" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_eras"):
        metafunc.parametrize("era", ERAS, indirect=True)


@pytest.fixture
def era(request: pytest.FixtureRequest) -> str:
    """The protocol era of the test's MCP client: DEFAULT_ERA, or each of ERAS for a test marked both_eras."""
    return str(getattr(request, "param", DEFAULT_ERA))


@pytest.fixture
async def client(settings: Settings, era: str) -> AsyncIterator[Client]:
    async with Client(build_server(settings), mode=era, cache=None) as connected:
        yield connected


def client_for(settings: Settings | Accounts, era: str, **options: Any) -> Client:
    """A client of a server built from `settings`, or several accounts (not yet connected: use `async with`)."""
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


@contextmanager
def logged(fragment: str, logger: str = "zomro_rescue_mcp") -> Iterator[anyio.Event]:
    """An event set once `logger` (or a logger below it) logs a line containing `fragment`, at any level.

    For waiting on what the server did (in this process) instead of sleeping and hoping it is done.
    """
    seen = anyio.Event()

    class Listener(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if fragment in record.getMessage():
                seen.set()

    listener, target = Listener(), logging.getLogger(logger)
    level = target.level
    target.setLevel(logging.DEBUG)
    target.addHandler(listener)
    try:
        yield seen
    finally:
        target.removeHandler(listener)
        target.setLevel(level)


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
        "XDG_CONFIG_HOME": "/nonexistent/zomro-tests",  # never the accounts file of the person running the tests
    }
