"""Faults of the API and the network: reads are retried, a mutating request is never sent twice."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import anyio
import pytest
from mcp import Client

from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Fault, Simulator

from ..conftest import call, error, ok
from ..outcome import facts, kind

pytestmark = [pytest.mark.anyio, pytest.mark.heavy]  # many seconds: make test-heavy

WEB = 5203773
PREVIEW = "instances.fleio.rescue"


async def test_a_read_is_retried_after_a_gateway_error(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("http_status", func=PREVIEW, status=502))
    data = ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert len(data["images"]) == 16
    assert len(sim.calls(PREVIEW)) == 2


async def test_a_read_that_keeps_failing_ends_in_a_sentence_naming_the_status(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("http_status", func=PREVIEW, status=503, times=3))
    result = await call(client, "list_rescue_images", instance_id=WEB)
    assert kind(result) == "transport"
    assert "HTTP 503 Service Unavailable" in error(result)
    assert len(sim.calls(PREVIEW)) == 3


async def test_a_read_answered_with_invalid_json_is_retried(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("invalid_json", func=PREVIEW))
    ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert len(sim.calls(PREVIEW)) == 2


async def test_a_slow_answer_within_the_timeout_is_fine(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("delay", func=PREVIEW, seconds=0.3))
    ok(await call(client, "list_rescue_images", instance_id=WEB))


async def test_a_read_timing_out_every_time_says_how_long_it_waited(
    settings: Settings, sim: Simulator, era: str
) -> None:
    sim.inject(Fault("delay", func=PREVIEW, seconds=2, times=3))
    async with Client(build_server(settings.but(timeout=0.3)), mode=era) as client:
        message = error(await call(client, "list_rescue_images", instance_id=WEB))
    assert len(sim.calls(PREVIEW)) == 3
    assert "no answer within 0.3 s" in message
    assert "Nothing was changed" in message


async def test_a_lost_answer_to_a_confirmed_enter_is_reported_and_sent_exactly_once(
    client: Client, sim: Simulator
) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=5))
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert (kind(result), facts(result)["next"]) == ("outcome_unknown", "list_instances")
    assert "was not sent again" in error(result)
    assert len(sim.mutating_requests()) == 1
    assert sim.instances[WEB].status == "rescued"  # it did happen: that is why it must not be re-sent


async def test_a_gateway_error_to_a_confirmed_enter_is_an_unknown_outcome_sent_once(
    client: Client, sim: Simulator
) -> None:
    sim.inject(Fault("http_status", mutating=True, status=502))
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert kind(result) == "outcome_unknown"
    assert "HTTP 502 Bad Gateway" in error(result)
    assert len(sim.mutating_requests()) == 1


async def test_invalid_json_to_a_confirmed_exit_is_an_unknown_outcome_sent_once(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("invalid_json", mutating=True))
    result = await call(client, "exit_rescue", instance_id=5203775, confirm=True)
    assert kind(result) == "outcome_unknown"
    assert "not JSON" in error(result)
    assert len(sim.mutating_requests()) == 1


async def test_a_long_operation_page_is_followed_to_the_final_answer(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("long", mutating=True))
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    assert data["executed"] is True
    assert len(sim.mutating_requests()) == 1
    assert len([r for r in sim.requests if r.path == "/long"]) == 2


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def unreachable_client(closed_port: int, era: str) -> AsyncIterator[Client]:
    settings = Settings(api_url=f"http://127.0.0.1:{closed_port}/", auth_token="0123456789abcdef01234567", timeout=1.0)
    async with Client(build_server(settings), mode=era) as connected:
        yield connected


async def test_an_unreachable_api_is_a_sentence_saying_nothing_was_sent(unreachable_client: Client) -> None:
    result = await call(unreachable_client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert kind(result) == "transport"
    assert "was not sent" in error(result)


async def test_an_edge_refusal_is_not_retried_and_says_what_to_check(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("http_status", func=PREVIEW, status=403))
    result = await call(client, "list_rescue_images", instance_id=WEB)
    assert kind(result) == "transport"
    assert "IP address is blocked" in error(result)
    assert len(sim.calls(PREVIEW)) == 1


async def test_a_refused_wait_page_after_a_confirmed_call_is_an_unknown_outcome_not_a_resend(
    client: Client, sim: Simulator
) -> None:
    sim.inject(Fault("long_expired", mutating=True))
    result = await call(client, "exit_rescue", instance_id=5203775, confirm=True)
    assert kind(result) == "outcome_unknown"
    assert len(sim.mutating_requests()) == 1
    assert len(sim.calls("auth")) == 1  # no re-login, so no second send


async def test_a_lost_answer_hands_over_the_generated_password_that_may_be_in_force(
    client: Client, sim: Simulator
) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=5))
    message = error(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    [sent] = sim.mutating_requests()
    assert f"its root password is {sent.fields['password']}" in message


async def test_a_second_confirmed_request_for_a_busy_instance_is_refused(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("delay", mutating=True, seconds=0.5))  # within the 1 s timeout: the first is answered
    results = []

    async def enter() -> None:
        results.append(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))

    async with anyio.create_task_group() as group:
        group.start_soon(enter)
        await anyio.to_thread.run_sync(sim.wait_for_request, lambda r: r.mutating)  # the first is on the wire
        group.start_soon(enter)
    refused = [r for r in results if r.is_error]
    assert len(refused) == 1
    assert "Another confirmed request for instance 5203773 is still running" in error(refused[0])
    assert len(sim.mutating_requests()) == 1
