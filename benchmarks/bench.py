"""zomro-rescue-mcp benchmarks: our server beside the SDK floor and the API floor, measured in the same run.

    python benchmarks/bench.py            # the full run (`make bench`), a few minutes on 2 cores
    python benchmarks/bench.py --quick    # tiny counts, to check the script still works

Everything runs against the simulator on loopback over real HTTP (its own uvicorn process). Machines are
noisy, so each row compares figures taken side by side in this run; read the ratios, not the absolutes.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
SERVER = str(Path(PYTHON).with_name("zomro-rescue-mcp"))
TOKEN = "benchmark-token-0123456789"
USERNAME, PASSWORD = "demo@example.com", "Demo-Passw0rd"
WEB = 5203773
PROTOCOL = "2025-11-25"  # the handshake era, which IDE hosts speak


@dataclass
class Counts:
    """How much of each measurement to take; --quick shrinks everything."""

    calls: int = 400
    warmup: int = 30
    cold_starts: int = 7
    http_seconds: float = 6.0
    memory_calls: tuple[int, int] = (1000, 5000)
    critical_repeats: int = 5


@dataclass
class Row:
    number: str
    measure: str
    ours: str
    reference: str
    ratio: str
    target: str
    met: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: str) -> None:
        self.rows.append(Row(*cells))
        print("  " + " | ".join(cells), file=sys.stderr, flush=True)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms (p95 {pct(samples, 0.95) * 1000:.2f})"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            httpx2.get(url, timeout=1)
            return
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered at {url}") from None
            time.sleep(0.05)


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def server_env(api_url: str, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "ZOMRO_API_URL": api_url,
        "ZOMRO_USERNAME": USERNAME,
        "ZOMRO_PASSWORD": PASSWORD,
        "ZOMRO_LOG_LEVEL": "WARNING",
        "ZOMRO_CONFIG": "none",  # the bench's one account, never the person's accounts file
        **extra,
    }


def ours(api_url: str, **extra: str) -> StdioServerParameters:
    return StdioServerParameters(command=SERVER, args=["serve"], env=server_env(api_url, **extra))


def bare() -> StdioServerParameters:
    return StdioServerParameters(command=PYTHON, args=[str(HERE / "bare_server.py")])


def child_pid(marker: str) -> int:
    """The pid of this process's child whose command line contains `marker` (the stdio server)."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me and marker in cmdline:
            return int(entry.name)
    raise RuntimeError(f"no child process running {marker}")


def memory_kib(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field_name} not found for {pid}")


async def timed(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


# 1. Call overhead ----------------------------------------------------------------------------------------


async def stdio_call_latencies(
    params: StdioServerParameters, tool: str, arguments: dict[str, Any], counts: Counts
) -> list[float]:
    async with Client(params, mode="legacy", cache=None) as client:
        await client.list_tools()

        async def once() -> None:
            result = await client.call_tool(tool, arguments)
            if result.is_error:
                raise RuntimeError(f"{tool} failed: {result.content}")

        await timed(counts.warmup, once)
        return await timed(counts.calls, once)


async def api_floor(api_url: str, counts: Counts, *, with_state: bool) -> list[float]:
    """Raw httpx2 POSTs: the preview request alone, or side by side with the state read the tool also makes."""
    async with httpx2.AsyncClient(timeout=10) as http:
        credentials = {"func": "auth", "out": "json", "username": USERNAME, "password": PASSWORD}
        session = (await http.post(api_url, data=credentials)).json()["doc"]["auth"]["$id"]
        preview = {"func": "instances.fleio.rescue", "out": "json", "lang": "en", "auth": session, "elid": str(WEB)}
        state = {**preview, "func": "instances.edit"}

        async def post(form: dict[str, str]) -> None:
            (await http.post(api_url, data=form)).json()

        async def once() -> None:
            async with anyio.create_task_group() as group:
                group.start_soon(post, preview)
                if with_state:
                    group.start_soon(post, state)

        await timed(counts.warmup, once)
        return await timed(counts.calls, once)


def call_overhead(api_url: str, counts: Counts, report: Report) -> None:
    mine = anyio.run(stdio_call_latencies, ours(api_url), "list_rescue_images", {"instance_id": WEB}, counts)
    sdk = anyio.run(stdio_call_latencies, bare(), "noop", {}, counts)
    shaped = anyio.run(stdio_call_latencies, bare(), "canned_images", {"instance_id": WEB}, counts)
    api = anyio.run(functools.partial(api_floor, api_url, counts, with_state=False))
    both = anyio.run(functools.partial(api_floor, api_url, counts, with_state=True))
    ratio = statistics.median(mine) / (statistics.median(sdk) + statistics.median(api))
    report.add(
        "1",
        "call overhead: list_rescue_images over stdio, median (p95)",
        ms(mine),
        f"SDK floor (noop) {ms(sdk)} + API floor (the preview POST) {ms(api)}",
        f"{ratio:.2f}",
        "≤ 1.15",
        _met(ratio <= 1.15),
    )
    ratio = statistics.median(mine) / (statistics.median(shaped) + statistics.median(both))
    report.add(
        "1b",
        "the same, against floors of the same shape: SDK returning the same structured result, "
        "and the two reads the tool makes",
        ms(mine),
        f"SDK structured floor {ms(shaped)} + both POSTs side by side {ms(both)}",
        f"{ratio:.2f}",
        "(what is ours)",
        _met(ratio <= 1.15),
    )


# 2. Cold start -------------------------------------------------------------------------------------------


async def cold_start(params: StdioServerParameters) -> float:
    started = time.perf_counter()
    async with Client(params, mode="legacy", cache=None) as client:
        await client.list_tools()
        return time.perf_counter() - started


def cold_starts(api_url: str, counts: Counts, report: Report) -> None:
    mine, floor = [], []
    for _ in range(counts.cold_starts):  # interleaved, so drift hits both alike
        mine.append(anyio.run(cold_start, ours(api_url)))
        floor.append(anyio.run(cold_start, bare()))
    ratio = statistics.median(mine) / statistics.median(floor)
    report.add(
        "2",
        "cold start: spawn to tools/list answered, median",
        f"{statistics.median(mine):.3f} s",
        f"bare MCPServer {statistics.median(floor):.3f} s",
        f"{ratio:.2f}",
        "≤ 1.2",
        _met(ratio <= 1.2),
    )


# 3. HTTP throughput --------------------------------------------------------------------------------------


class RawMcpSession:
    """A lean Streamable HTTP client (httpx2 only), so the load generator is not what is measured."""

    def __init__(self, http: httpx2.AsyncClient, url: str) -> None:
        self._http, self._url = http, url
        self._headers = {
            "Accept": "application/json, text/event-stream",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {TOKEN}",
        }
        self._next = 0

    async def _post(self, message: dict[str, Any]) -> dict[str, Any] | None:
        response = await self._http.post(self._url, json=message, headers=self._headers)
        response.raise_for_status()
        if "id" not in message:
            return None
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            for line in response.text.splitlines():
                if line.startswith("data:"):
                    reply: dict[str, Any] = json.loads(line[5:])
                    if reply.get("id") == message["id"]:
                        return reply
            raise RuntimeError("no reply in the event stream")
        parsed: dict[str, Any] = response.json()
        return parsed

    async def open(self) -> None:
        init = {
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": PROTOCOL,
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"},
            },
        }
        response = await self._http.post(self._url, json=init, headers=self._headers)
        response.raise_for_status()
        self._headers["Mcp-Session-Id"] = response.headers["mcp-session-id"]
        self._headers["MCP-Protocol-Version"] = PROTOCOL
        await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})

    async def call(self, tool: str, arguments: dict[str, Any]) -> bool:
        self._next += 1
        reply = await self._post(
            {
                "jsonrpc": "2.0",
                "id": self._next,
                "method": "tools/call",
                "params": {"name": tool, "arguments": arguments},
            }
        )
        return reply is not None and "result" in reply and not reply["result"].get("isError")


async def http_load(url: str, clients: int, seconds: float, tool: str) -> tuple[int, int, list[float]]:
    latencies: list[float] = []
    errors = 0
    limits = httpx2.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    async with httpx2.AsyncClient(timeout=30, limits=limits) as http:
        sessions = [RawMcpSession(http, url) for _ in range(clients)]
        for session in sessions:
            await session.open()
            await session.call(tool, {"instance_id": WEB})  # warm: login and connections
        deadline = time.perf_counter() + seconds

        async def worker(session: RawMcpSession) -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    ok = await session.call(tool, {"instance_id": WEB})
                except httpx2.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        async with anyio.create_task_group() as group:
            for session in sessions:
                group.start_soon(worker, session)
    return len(latencies), errors, latencies


def http_throughput(api_url: str, counts: Counts, report: Report) -> None:
    port, floor_port = free_port(), free_port()
    server = start(
        [SERVER, "serve", "--transport", "http", "--port", str(port)], server_env(api_url, ZOMRO_MCP_TOKEN=TOKEN)
    )
    floor = start([PYTHON, str(HERE / "bare_server.py"), "--http", str(floor_port)])
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        wait_http(f"http://127.0.0.1:{floor_port}/mcp")
        for clients in (1, 8, 32):
            total, errors, latencies = anyio.run(
                http_load, f"http://127.0.0.1:{port}/mcp", clients, counts.http_seconds, "list_rescue_images"
            )
            floor_total, _, floor_latencies = anyio.run(
                http_load, f"http://127.0.0.1:{floor_port}/mcp", clients, counts.http_seconds, "canned_images"
            )
            rate, p99 = total / counts.http_seconds, pct(latencies, 0.99) * 1000
            floor_rate = floor_total / counts.http_seconds
            target, met = "—", "—"
            if clients == 8:
                target = "≥ 300 calls/s, p99 < 50 ms, no errors"
                met = _met(rate >= 300 and p99 < 50 and errors == 0)
            report.add(
                "3",
                f"HTTP, {clients} concurrent client(s): list_rescue_images",
                f"{rate:.0f} calls/s, p99 {p99:.1f} ms, {errors} errors",
                f"bare MCPServer, same result shape: {floor_rate:.0f} calls/s, p99 "
                f"{pct(floor_latencies, 0.99) * 1000:.1f} ms",
                f"{rate / floor_rate:.2f}",
                target,
                met,
            )
    finally:
        for process in (server, floor):
            process.terminate()
            process.wait(timeout=30)


# 4. Memory -----------------------------------------------------------------------------------------------


async def memory_run(
    params: StdioServerParameters, marker: str, tool: str, arguments: dict[str, Any], checkpoints: tuple[int, ...]
) -> list[tuple[int, int]]:
    """(peak RSS KiB, RSS KiB) of the server at each checkpoint of calls made."""
    readings = []
    async with Client(params, mode="legacy", cache=None) as client:
        await client.list_tools()
        pid = child_pid(marker)
        done = 0
        for checkpoint in checkpoints:
            while done < checkpoint:
                await client.call_tool(tool, arguments)
                done += 1
            readings.append((memory_kib(pid, "VmHWM"), memory_kib(pid, "VmRSS")))
    return readings


def memory(api_url: str, counts: Counts, report: Report) -> None:
    first, last = counts.memory_calls
    mine = anyio.run(
        memory_run, ours(api_url), "zomro-rescue-mcp serve", "list_rescue_images", {"instance_id": WEB}, (first, last)
    )
    floor = anyio.run(memory_run, bare(), "bare_server.py", "noop", {}, (first,))
    ratio = mine[0][0] / floor[0][0]
    report.add(
        "4",
        f"peak RSS of the server after {first:,} calls",
        f"{mine[0][0] / 1024:.1f} MiB",
        f"bare MCPServer {floor[0][0] / 1024:.1f} MiB",
        f"{ratio:.2f}",
        "≤ 1.2",
        _met(ratio <= 1.2),
    )
    growth = (mine[1][1] - mine[0][1]) / 1024
    report.add(
        "4",
        f"RSS growth from call {first:,} to call {last:,}",
        f"{growth:+.2f} MiB",
        "—",
        "—",
        "no growth (< 1 MiB)",
        _met(growth < 1.0),
    )


# 5. API round trips per workflow -------------------------------------------------------------------------

MINIMUM = {"auth": 1, "instances": 3, "instances.fleio.rescue": 2, "instances.fleio.unrescue": 1}
WHY = {
    "auth": "one login; the token could replace it",
    "whoami": "+1: a two-factor account is detected at login, before any change, instead of failing later",
    "instances": "the state lives in the list row, as in Zomro's panel: discovery, then one read per state change "
    "while watching; +N: list_rescue_images, the enter preview, the confirmed enter, the exit preview and the "
    "confirmed exit each read the state first (pre-flight), the rest are polls while rescuing/unrescuing "
    "(poll interval 1 s, transitions 0.2 s here)",
    "instances.filter": "read beside every list read (never set), so a filter saved in the panel can never make an "
    "instance look missing; it adds no round trip",
    "instances.fleio.rescue": "the image list, then the submit; +2: preview and confirmed enter re-read the form "
    "so the image is checked against what is offered at that moment",
    "instances.fleio.unrescue": "the submit",
    "instances.snapshots": "+1: the enter preview reads the snapshot list beside the state and the form, to say "
    "whether a snapshot was made today; it adds no round trip",
}
WARM, WARM_RESCUED = 5203774, 5203775  # instances the warm-up reads, so the measured ones stay untouched
CRITICAL_LATENCY = 0.1  # seconds added to every API request for the round-trip rows
CRITICAL_TARGETS = {
    "list_rescue_images": 1.2,
    "enter preview": 1.2,
    "confirmed enter, wait=false": 2.2,
    "confirmed exit, wait=false": 2.2,
    "list_instances, 2,000 instances": 4.0,
    "list_rescue_images, last of 2,000 instances": 4.0,
    "list_instances, two accounts side by side": 1.5,
    "list_rescue_images on the second account": 1.2,
}


async def workflow(params: StdioServerParameters) -> None:
    async with Client(params, mode="legacy", cache=None) as client:
        steps: list[tuple[str, dict[str, Any]]] = [
            ("list_instances", {"query": "web-1"}),
            ("list_rescue_images", {"instance_id": WEB}),
            ("enter_rescue", {"instance_id": WEB, "image": "Ubuntu 22.04"}),
            ("enter_rescue", {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True}),
            ("exit_rescue", {"instance_id": WEB}),
            ("exit_rescue", {"instance_id": WEB, "confirm": True}),
        ]
        preview_id = None
        for tool, arguments in steps:
            result = await client.call_tool(tool, with_preview_id(arguments, preview_id))
            if result.is_error:
                raise RuntimeError(f"{tool} failed: {result.content}")
            preview_id = (result.structured_content or {}).get("preview_id")


def with_preview_id(arguments: dict[str, Any], preview_id: object) -> dict[str, Any]:
    """A confirmed call carries the id of the preview just before it, as the preview rule asks."""
    return {**arguments, "preview_id": preview_id} if arguments.get("confirm") and preview_id else arguments


def round_trips(report: Report) -> None:
    from zomro_rescue_mcp.simulator import Simulator, run_on_loopback

    sim = Simulator(transition_seconds=0.2)
    url, stop = run_on_loopback(sim)
    try:
        anyio.run(workflow, ours(url, ZOMRO_POLL_INTERVAL="1"))
    finally:
        stop()
    seen = Counter(r.func for r in sim.requests)
    total, minimum = sum(seen.values()), sum(MINIMUM.values())
    report.add(
        "5",
        "API requests for discover → list → preview → enter → wait → exit → wait",
        str(total),
        f"protocol minimum {minimum}",
        f"{total / minimum:.2f}",
        "each extra justified",
        "see below",
    )
    for func, count in sorted(seen.items()):
        report.notes.append(f"- `{func}`: {count} (minimum {MINIMUM.get(func, 0)}) — {WHY.get(func, '')}")


async def critical_path(
    url: str, steps: list[tuple[str, str, dict[str, Any]]], accounts: int = 1
) -> list[tuple[str, float, int]]:
    """Each labelled call's wall time and result size on a warm session (the login is not counted); `accounts`
    above 1: the server has that many accounts (first, second …) on the simulator's logins, the first the default."""
    from zomro_rescue_mcp.mcp_server.server import build_server
    from zomro_rescue_mcp.settings.accounts import Accounts
    from zomro_rescue_mcp.settings.config import Settings

    settings = Settings(api_url=url, username=USERNAME, password=PASSWORD, timeout=10.0, wait_seconds=0)
    names = ["first", "second", "third", "fourth"][:accounts]
    logins = [USERNAME] + [f"account{n}@example.com" for n in range(2, accounts + 1)]
    configured = Accounts(
        tuple(settings.but(account=name, username=login) for name, login in zip(names, logins, strict=True)),
        default_account="first" if accounts > 1 else None,
    )
    measured: list[tuple[str, float, int]] = []
    async with Client(build_server(configured), mode="legacy", cache=None) as client:
        # Log in and take every code path once, so the rows count round trips, not first-use costs.
        await client.call_tool("list_instances", {"limit": 1})
        await client.call_tool("list_rescue_images", {"instance_id": WARM})
        await client.call_tool("enter_rescue", {"instance_id": WARM, "image": "Ubuntu 22.04"})
        await client.call_tool("exit_rescue", {"instance_id": WARM_RESCUED})
        preview_id = None
        for label, tool, arguments in steps:
            sent = with_preview_id(arguments, preview_id)
            started = time.perf_counter()
            result = await client.call_tool(tool, sent)
            seconds = time.perf_counter() - started
            if result.is_error:
                raise RuntimeError(f"{tool} failed: {result.content}")
            preview_id = (result.structured_content or {}).get("preview_id")
            if label:
                measured.append((label, seconds, len(result.model_dump_json(by_alias=True, exclude_none=True))))
            if arguments.get("confirm"):
                await anyio.sleep(0.5)  # let the simulated instance settle before the next preview
    return measured


def critical_round_trips(report: Report, repeats: int) -> None:
    """Wall time of each call in API round trips (the median of `repeats`), with 100 ms added to every API request."""
    enter = {"instance_id": WEB, "image": "Ubuntu 22.04"}
    small: list[tuple[str, str, dict[str, Any]]] = [
        ("list_rescue_images", "list_rescue_images", {"instance_id": WEB}),
        ("enter preview", "enter_rescue", enter),
        ("confirmed enter, wait=false", "enter_rescue", {**enter, "confirm": True, "wait": False}),
        ("", "exit_rescue", {"instance_id": WEB}),  # the exit's preview, which comes before its confirmation
        ("confirmed exit, wait=false", "exit_rescue", {"instance_id": WEB, "confirm": True, "wait": False}),
    ]
    large: list[tuple[str, str, dict[str, Any]]] = [
        ("list_instances, 2,000 instances", "list_instances", {}),
        ("list_rescue_images, last of 2,000 instances", "list_rescue_images", {"instance_id": 6000001 + 1995}),
    ]
    several: list[tuple[str, str, dict[str, Any]]] = [
        ("list_instances, two accounts side by side", "list_instances", {}),
        ("list_rescue_images on the second account", "list_rescue_images", {"instance_id": WEB, "account": "second"}),
    ]
    measured: list[tuple[str, float, int]] = []
    for population, accounts, steps in ((0, 1, small), (1996, 1, large), (0, 2, several)):
        port = free_port()  # the simulator in its own process: the API's work is not ours
        simulator = start(
            [
                PYTHON,
                str(HERE / "simulator_server.py"),
                str(port),
                str(CRITICAL_LATENCY),
                str(population),
                str(accounts),
            ]
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/")
            for _ in range(repeats):
                measured += anyio.run(critical_path, f"http://127.0.0.1:{port}/", steps, accounts)
        finally:
            simulator.terminate()
            simulator.wait(timeout=30)
    by_label: dict[str, list[tuple[float, int]]] = {}
    for label, seconds, size in measured:
        by_label.setdefault(label, []).append((seconds, size))
    for index, (label, samples) in enumerate(by_label.items()):
        seconds, size = statistics.median(s for s, _ in samples), samples[0][1]
        trips = seconds / CRITICAL_LATENCY
        target = CRITICAL_TARGETS[label]
        report.add(
            f"6{'abcdefghij'[index]}",
            f"{label} (result {size:,} characters)",
            f"{trips:.2f} round trips ({seconds * 1000:.0f} ms)",
            f"{CRITICAL_LATENCY * 1000:.0f} ms per API request",
            "",
            f"at most {target}",
            _met(trips <= target),
        )


async def model_reading(url: str) -> tuple[int, int]:
    """What the model reads: tools/list (descriptions, input schemas, instructions) and 16 images as text."""
    from zomro_rescue_mcp.mcp_server.server import build_server
    from zomro_rescue_mcp.settings.config import Settings

    settings = Settings(api_url=url, username=USERNAME, password=PASSWORD, timeout=10.0)
    async with Client(build_server(settings), mode="legacy", cache=None) as client:
        tools = (await client.list_tools()).tools
        listing = sum(len(t.description or "") + len(json.dumps(t.input_schema)) for t in tools)
        listing += len(client.instructions or "")
        images = await client.call_tool("list_rescue_images", {"instance_id": WEB})
        text = sum(len(getattr(block, "text", "")) for block in images.content)
    return listing, text


def token_economy(api_url: str, report: Report) -> None:
    listing, text = anyio.run(model_reading, api_url)
    report.add(
        "7a",
        "what the model reads of tools/list: descriptions, input schemas, instructions",
        f"{listing:,} characters",
        "",
        "",
        "at most 6,500",
        _met(listing <= 6500),
    )
    report.add(
        "7b",
        "text content of list_rescue_images for 16 images",
        f"{text:,} characters",
        "",
        "",
        "at most 1,200",
        _met(text <= 1200),
    )


# ---------------------------------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}), Python "
        f"{platform.python_version()}, mcp {version('mcp')}, httpx2 {version('httpx2')}"
    )


def main() -> int:
    from recovery_bench import recovery_round_trips
    from vm_bench import diagnosis_on_vm  # beside this script
    from vm_repair_bench import repair_on_vm

    # The in-process servers log as the real one does: plain lines on stderr (the SDK would otherwise install a
    # rich console handler, whose rendering costs milliseconds a call that `serve` never pays).
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the script, measures nothing")
    args = parser.parse_args()
    counts = (
        Counts(calls=5, warmup=1, cold_starts=1, http_seconds=0.2, memory_calls=(5, 10), critical_repeats=1)
        if args.quick
        else Counts()
    )
    started = time.monotonic()
    port = free_port()
    simulator = start([PYTHON, str(HERE / "simulator_server.py"), str(port)])
    api_url = f"http://127.0.0.1:{port}/"
    report = Report()
    try:
        wait_http(api_url)
        print(f"measuring on {machine()}", file=sys.stderr)
        call_overhead(api_url, counts, report)
        cold_starts(api_url, counts, report)
        http_throughput(api_url, counts, report)
        memory(api_url, counts, report)
        round_trips(report)
        critical_round_trips(report, counts.critical_repeats)
        token_economy(api_url, report)
        recovery_round_trips(report)
        diagnosis_on_vm(report, quick=args.quick)
        repair_on_vm(report, quick=args.quick)
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)
    print(f"\nMachine: {machine()}")
    print(f"Counts: {counts}; run took {time.monotonic() - started:.0f} s\n")
    print("| # | measure | ours | reference (same run) | ratio | target | met |")
    print("|---|---|---|---|---|---|---|")
    for row in report.rows:
        print(
            f"| {row.number} | {row.measure} | {row.ours} | {row.reference} | {row.ratio} | {row.target} | {row.met} |"
        )
    print("\nAPI requests per workflow, by function:")
    print("\n".join(report.notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
