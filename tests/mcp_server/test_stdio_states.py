"""Discovery, pre-flight and waiting through the installed console script over stdio, both protocol eras."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

import anyio
import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import SimInstance, Simulator

from ..conftest import call, cancel_once_watching, error, ok, stdio_server

# the installed console script over stdio; heavy: the same pre-flight and waiting are tested in process in make test,
# and these prove them once more through the real stdio transport in make test-heavy (which CI runs)
pytestmark = [pytest.mark.anyio, pytest.mark.e2e, pytest.mark.heavy]

WEB = 5203773
ENTER = {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True}


@asynccontextmanager
async def served(
    server_env: dict[str, str], era: str, errlog: TextIO | None = None, **extra: str
) -> AsyncIterator[Client]:
    with tempfile.TemporaryFile("w+") as own:
        async with stdio_server({**server_env, "ZOMRO_POLL_INTERVAL": "1", **extra}, era, errlog or own) as client:
            yield client


async def until_written(errlog: TextIO, fragment: str) -> None:
    """Wait until the server has written `fragment` to its stderr (read in place: the offset is shared with it)."""
    while fragment.encode() not in os.pread(errlog.fileno(), 1 << 20, 0):  # noqa: ASYNC110 (written by another process)
        await anyio.sleep(0.02)


async def test_stdio_refuses_by_state_with_zero_mutating_calls(
    server_env: dict[str, str], sim: Simulator, era: str
) -> None:
    async with served(server_env, era) as client:
        entering = error(await call(client, "enter_rescue", **{**ENTER, "instance_id": 5203775}))
        leaving = error(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    assert "already in rescue mode" in entering
    assert "not in rescue mode" in leaving
    assert sim.mutating_requests() == []


async def test_stdio_wait_false_returns_at_once(server_env: dict[str, str], sim: Simulator, era: str) -> None:
    sim.transition_seconds = 30
    async with served(server_env, era) as client:
        data = ok(await client.call_tool("enter_rescue", {**ENTER, "wait": False}))
    assert (data["wait"], data["status"]) == ("not_waited", None)


async def test_stdio_a_wait_that_ends_first_is_not_an_error(
    server_env: dict[str, str], sim: Simulator, era: str
) -> None:
    sim.transition_seconds = 30
    async with served(server_env, era, ZOMRO_WAIT_SECONDS="0.3") as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert (data["executed"], data["wait"], data["status"]) == (True, "timed_out", "rescuing")


@pytest.mark.both_eras
async def test_stdio_cancelling_stops_the_watch(server_env: dict[str, str], sim: Simulator, era: str) -> None:
    sim.transition_seconds = 30
    with tempfile.TemporaryFile("w+") as errlog:
        async with served(server_env, era, errlog) as client:
            await cancel_once_watching(client, "enter_rescue", ENTER)
            with anyio.fail_after(10):
                await until_written(errlog, f"the caller cancelled while instance {WEB} was settling")
            polls = len(sim.calls("instances"))
            await anyio.sleep(1.2)  # longer than the poll interval (1 s): a watch still running would read again
            assert len(sim.calls("instances")) == polls
    assert len(sim.mutating_requests()) == 1


async def test_stdio_reads_every_page_and_a_single_element_list(
    server_env: dict[str, str], sim: Simulator, era: str
) -> None:
    sim.max_page_size = 2
    for n in range(3):
        sim.instances[6000000 + n] = SimInstance(id=6000000 + n, name=f"worker-{n}")
    async with served(server_env, era) as client:
        paged = ok(await call(client, "list_instances"))
        sim.instances = {WEB: SimInstance(id=WEB, name="web-1")}
        single = ok(await call(client, "list_instances"))
    assert len(paged["instances"]) == 7
    assert [i["id"] for i in single["instances"]] == [WEB]
