"""After a confirmed request the server watches the instance settle, reporting progress; reads only."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator

import anyio
import pytest
from mcp import Client

from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Fault, Simulator

from ..conftest import cancel_once_watching, logged, ok

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]  # a transport suite of many seconds: make test-heavy

WEB, LEGACY = 5203773, 5203775
ENTER = {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True}


class Progress:
    """Collects progress notifications as a host would show them."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float | None, str | None]] = []
        self.first = anyio.Event()

    async def __call__(self, progress: float, total: float | None, message: str | None) -> None:
        self.seen.append((progress, total, message))
        self.first.set()


@pytest.mark.both_eras
async def test_enter_waits_until_rescued_reporting_progress_in_order(client: Client, sim: Simulator) -> None:
    sim.transition_seconds = 0.4
    progress = Progress()
    data = ok(await client.call_tool("enter_rescue", ENTER, progress_callback=progress))
    assert data["wait"] == "reached"
    assert data["status"] == "rescued"
    assert data["waited_seconds"] >= 0.3
    states = [message.split(" after ")[0] for _, _, message in progress.seen if message]
    assert states[0] == "rescuing"
    assert states[-1] == "rescued"
    assert states == sorted(states, key=["rescuing", "rescued"].index)
    values = [value for value, _, _ in progress.seen]
    assert all(later > earlier for earlier, later in itertools.pairwise(values))
    assert all(total == 5.0 for _, total, _ in progress.seen)


@pytest.mark.both_eras
async def test_exit_waits_until_active(client: Client, sim: Simulator) -> None:
    sim.transition_seconds = 0.2
    progress = Progress()
    data = ok(
        await client.call_tool("exit_rescue", {"instance_id": LEGACY, "confirm": True}, progress_callback=progress)
    )
    assert (data["wait"], data["status"]) == ("reached", "active")
    assert progress.seen[0][2] is not None
    assert progress.seen[0][2].startswith("unrescuing after")


@pytest.fixture
async def impatient_client(settings: Settings, era: str) -> AsyncIterator[Client]:
    async with Client(build_server(settings.but(wait_seconds=0.3)), mode=era) as connected:
        yield connected


async def test_a_wait_that_ends_first_is_not_an_error(impatient_client: Client, sim: Simulator) -> None:
    sim.transition_seconds = 30
    data = ok(await impatient_client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True
    assert data["wait"] == "timed_out"
    assert data["status"] == "rescuing"
    assert "still rescuing" in data["summary"]
    assert "do not send it again" in data["next_step"]
    assert len(sim.mutating_requests()) == 1


async def test_wait_false_returns_at_once_without_watching(client: Client, sim: Simulator) -> None:
    sim.transition_seconds = 30
    data = ok(await client.call_tool("enter_rescue", {**ENTER, "wait": False}))
    assert (data["executed"], data["wait"], data["status"]) == (True, "not_waited", None)
    assert "Once list_instances shows the instance as rescued" in data["next_step"]
    assert data["password"] is not None
    mutation_at = sim.requests.index(sim.mutating_requests()[0])
    assert [r.func for r in sim.requests[mutation_at + 1 :]] == []


async def test_wait_seconds_zero_turns_waiting_off(settings: Settings, sim: Simulator, era: str) -> None:
    async with Client(build_server(settings.but(wait_seconds=0)), mode=era) as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["wait"] == "not_waited"


async def test_an_instance_that_ends_in_error_stops_the_wait_and_says_so(client: Client, sim: Simulator) -> None:
    sim.transition_seconds = 0.2
    sim.failing_rescues.add(WEB)
    data = ok(await client.call_tool("enter_rescue", ENTER))
    assert (data["wait"], data["status"]) == ("error_state", "error")
    assert "error state" in data["summary"]
    assert data["next_step"].startswith("Give the person the password now")
    assert "Ask Zomro support" in data["next_step"]


@pytest.mark.both_eras
async def test_an_unreadable_state_while_watching_is_said_not_replaced(
    impatient_client: Client, sim: Simulator
) -> None:
    sim.transition_seconds = 30
    sim.inject(Fault("http_status", func="instances", status=503, times=1000, mutating=False))
    progress = Progress()
    data = ok(await impatient_client.call_tool("enter_rescue", ENTER, progress_callback=progress))
    assert data["wait"] == "timed_out"
    assert data["status"] is None
    assert any("could not be read at the end of the watch" in note for note in data["notes"])
    assert all((message or "").startswith("state unreadable") for _, _, message in progress.seen)


async def test_watching_uses_reads_only(client: Client, sim: Simulator) -> None:
    sim.transition_seconds = 0.3
    ok(await client.call_tool("enter_rescue", ENTER))
    mutation_at = sim.requests.index(sim.mutating_requests()[0])
    after = sim.requests[mutation_at + 1 :]
    assert len(after) >= 2
    assert {r.func for r in after} == {"instances", "instances.filter"}
    assert not any(r.mutating for r in after)


@pytest.mark.both_eras
async def test_cancelling_stops_the_watch_and_leaves_the_request_as_sent(client: Client, sim: Simulator) -> None:
    sim.transition_seconds = 30
    with logged(f"the caller cancelled while instance {WEB} was settling") as stopped:
        await cancel_once_watching(client, "enter_rescue", ENTER)
        with anyio.fail_after(10):
            await stopped.wait()
    polls = len(sim.calls("instances"))
    await anyio.sleep(0.3)  # six poll intervals: a watch still running would read again
    assert len(sim.calls("instances")) == polls  # nobody is watching any more
    assert len(sim.mutating_requests()) == 1
    assert sim.instances[WEB].status == "rescuing"


@pytest.mark.both_eras
async def test_a_cancel_during_the_confirmed_send_still_sees_its_answer(
    client: Client, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.transition_seconds = 30
    sim.inject(Fault("delay", mutating=True, seconds=0.6))
    caplog.set_level(logging.WARNING, logger="zomro_rescue_mcp")
    said = anyio.Event()

    class Listener(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "generated rescue password was never delivered" in record.getMessage():
                said.set()

    listener = Listener()
    logging.getLogger("zomro_rescue_mcp").addHandler(listener)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:

            async def confirmed_enter() -> None:
                await client.call_tool("enter_rescue", ENTER)

            group.start_soon(confirmed_enter)
            await anyio.to_thread.run_sync(sim.wait_for_request, lambda r: r.mutating)  # on the wire, unanswered
            group.cancel_scope.cancel()
    with anyio.fail_after(10):  # the shielded send still reads its answer, then says the password was lost
        await said.wait()
    assert len(sim.mutating_requests()) == 1
    assert sim.instances[WEB].status == "rescuing"
    logging.getLogger("zomro_rescue_mcp").removeHandler(listener)
    assert "generated rescue password was never delivered" in caplog.text
