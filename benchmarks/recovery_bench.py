"""The recovery tools in API round trips (rows 9a and 9b), and what the model reads of tools/list with every
toolset (row 9c). Every tool of every toolset is called through the real MCP server on the simulator, which adds
100 ms to every API request; a call's wall time divided by 100 ms is its round trips (reads made side by side
count once). The login is warmed up first, so the rows count round trips, not the first login.

- 9a, reads: the read-only tools and every change's preview (`confirm=false`): the slowest, target at most 1.2;
- 9b, changes: every confirmed change without its watch (`wait=false` where the tool has it): the slowest,
  target at most 2.2 (the state read again after the person answered, then the change sent once).

Each story runs on a simulator of its own, so that one tool's change does not decide another's state. A read or a
preview changes nothing, so it is made four times and the median of the last three counts: the first call of a tool
pays once for what a running server and its client have long paid (the imports, pydantic's validators, the
client's compiled output schema), as in rows 6a-6h. A confirmed change comes once, after its preview warmed the
tool. A tool this server does not offer is left out, and the notes list each call's round trips.
"""

from __future__ import annotations

import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import anyio
from mcp import Client

USERNAME, PASSWORD = "demo@example.com", "Demo-Passw0rd"
WEB, RESCUED = 5203773, 5203775  # the simulator's web-1 (active) and an instance in rescue mode
READ_TARGET, CHANGE_TARGET = 1.2, 2.2
LATENCY = 0.1  # seconds the simulator adds to every API request
READS = 4  # times a read or a preview is made: the first warms the tool, the median of the rest counts
ALL_BUDGET = 9000  # characters of tools/list (descriptions, input schemas, instructions) with every toolset

Step = tuple[str, dict[str, Any]]
# Each scenario: the calls of one tool's story, on one fresh simulator (a preview, then its confirm).
SCENARIOS: tuple[tuple[Step, ...], ...] = (
    (("list_instances", {"query": "web-1"}),),
    (("list_rescue_images", {"instance_id": WEB}),),
    (("check_instance", {"instance_id": WEB}),),
    (
        ("power_instance", {"instance_id": WEB, "action": "reboot"}),
        ("power_instance", {"instance_id": WEB, "action": "reboot", "confirm": True, "wait": False}),
    ),
    (("list_snapshots", {"instance_id": WEB}),),
    (
        ("create_snapshot", {"instance_id": WEB, "name": "before-fix"}),
        ("create_snapshot", {"instance_id": WEB, "name": "before-fix", "confirm": True, "wait": False}),
    ),
    (("list_iso_images", {"instance_id": WEB}),),
    (
        ("boot_from_iso", {"instance_id": WEB, "image": "SystemRescue 11.00"}),
        ("boot_from_iso", {"instance_id": WEB, "image": "SystemRescue 11.00", "confirm": True, "wait": False}),
    ),
    (("reset_root_password", {"instance_id": WEB}), ("reset_root_password", {"instance_id": WEB, "confirm": True})),
    (
        ("exit_rescue", {"instance_id": RESCUED}),
        ("exit_rescue", {"instance_id": RESCUED, "confirm": True, "wait": False}),
    ),
)


class Rows(Protocol):
    notes: list[str]

    def add(self, *cells: str) -> None: ...


@contextmanager
def _simulator() -> Iterator[str]:
    """A fresh simulator in its own process (its work is not ours), 100 ms added to each request; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    script = Path(__file__).with_name("simulator_server.py")
    process = subprocess.Popen(
        [sys.executable, str(script), str(port), str(LATENCY)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _story(url: str, steps: tuple[Step, ...]) -> list[tuple[str, bool, float]]:
    """(tool, confirmed, round trips) of each call of one story."""
    from zomro_rescue_mcp.mcp_server.server import build_server
    from zomro_rescue_mcp.settings.config import Settings
    from zomro_rescue_mcp.settings.toolsets import TOOLSETS

    settings = Settings(api_url=url, username=USERNAME, password=PASSWORD, timeout=10.0, toolsets=frozenset(TOOLSETS))
    counted: list[tuple[str, bool, float]] = []
    async with Client(build_server(settings), mode="legacy", cache=None) as client:
        offered = {t.name for t in (await client.list_tools()).tools}
        if steps[0][0] not in offered:
            return []
        await client.call_tool("list_instances", {"limit": 1})  # the login, not counted
        preview_id = None
        for tool, arguments in steps:
            confirmed = bool(arguments.get("confirm"))
            sent = {**arguments, "preview_id": preview_id} if confirmed else arguments
            timed: list[float] = []
            for _ in range(1 if confirmed else READS):
                started = time.perf_counter()
                result = await client.call_tool(tool, sent)
                timed.append((time.perf_counter() - started) / LATENCY)
                if result.is_error:
                    raise RuntimeError(f"{tool} failed: {result.content}")
            counted.append((tool, confirmed, timed[0] if confirmed else statistics.median(timed[1:])))
            preview_id = (result.structured_content or {}).get("preview_id")  # the latest preview's
    return counted


async def _listing_of_all() -> int:
    from zomro_rescue_mcp.mcp_server.server import build_server
    from zomro_rescue_mcp.settings.config import Settings
    from zomro_rescue_mcp.settings.toolsets import TOOLSETS

    settings = Settings(
        api_url="http://127.0.0.1:9/", username=USERNAME, password=PASSWORD, toolsets=frozenset(TOOLSETS)
    )
    async with Client(build_server(settings), mode="legacy", cache=None) as client:
        tools = (await client.list_tools()).tools
        listing = sum(len(t.description or "") + len(json.dumps(t.input_schema)) for t in tools)
        return listing + len(client.instructions or "")


def recovery_round_trips(report: Rows) -> None:
    """Rows 9a (reads and previews), 9b (confirmed changes) and 9c (tools/list with every toolset)."""
    calls: list[tuple[str, bool, float]] = []
    for steps in SCENARIOS:
        with _simulator() as url:
            calls += anyio.run(_story, url, steps)
    for number, what, confirmed, target in (
        ("9a", "the slowest read or preview of a recovery tool", False, READ_TARGET),
        ("9b", "the slowest confirmed change of a recovery tool, without its watch", True, CHANGE_TARGET),
    ):
        mine = [(trips, tool) for tool, c, trips in calls if c is confirmed]
        worst, tool = max(mine) if mine else (0.0, "none")
        report.add(
            number,
            f"{what} ({tool}; {len(mine)} calls)",
            f"{worst:.2f} round trips",
            f"{LATENCY * 1000:.0f} ms per API request",
            "",
            f"at most {target}",
            "yes" if mine and worst <= target else "NO",
        )
    listing = anyio.run(_listing_of_all)
    report.add(
        "9c",
        "what the model reads of tools/list with every toolset (ZOMRO_TOOLSETS=all)",
        f"{listing:,} characters",
        "",
        "",
        f"at most {ALL_BUDGET:,}",
        "yes" if listing <= ALL_BUDGET else "NO",
    )
    for tool, confirmed, trips in calls:
        kind = "confirmed" if confirmed else "read or preview"
        report.notes.append(f"- `{tool}` {kind}: {trips:.2f} round trips")
