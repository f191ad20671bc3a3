"""The preview rule (on by default): a confirmed change runs only after this server previewed the same action."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mcp.types as types
import pytest
from mcp import Client

from zomro_rescue_mcp.config import Settings
from zomro_rescue_mcp.http_app import build_http_app
from zomro_rescue_mcp.loopback import serve_on_loopback
from zomro_rescue_mcp.mcp_server import build_server
from zomro_rescue_mcp.simulator import Fault, Simulator

from .conftest import ERAS, call, client_for, ok
from .test_http import TOKEN, http_client

pytestmark = pytest.mark.anyio

WEB, LEGACY = 5203773, 5203775
PREVIEW = {"instance_id": WEB, "image": "Ubuntu 22.04"}
ENTER = {**PREVIEW, "confirm": True}


@pytest.fixture
def ruled(settings: Settings) -> Settings:
    return settings.but(require_preview=True)


@pytest.mark.both_eras
async def test_a_confirmed_change_without_its_preview_answers_with_the_preview(
    ruled: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(ruled, era) as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is False
    assert data["next_step"].startswith("This is the preview, and nothing was sent")
    assert "confirm again" in data["next_step"]
    assert data["password"] is None
    assert sim.mutating_requests() == []


@pytest.mark.both_eras
async def test_a_confirmed_change_after_its_preview_is_executed(ruled: Settings, sim: Simulator, era: str) -> None:
    async with client_for(ruled, era) as client:
        ok(await client.call_tool("enter_rescue", PREVIEW))
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True
    assert len(sim.mutating_requests()) == 1


@pytest.mark.both_eras
async def test_the_answer_to_an_unpreviewed_confirmation_counts_as_its_preview(
    ruled: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(ruled, era) as client:
        first = ok(await client.call_tool("enter_rescue", ENTER))
        second = ok(await client.call_tool("enter_rescue", ENTER))
    assert (first["executed"], second["executed"]) == (False, True)


@pytest.mark.parametrize(
    "confirmed",
    [
        {**ENTER, "image": "Debian 12"},  # another image
        {**ENTER, "image": "foo"},  # another zone (own) and no password
        {**ENTER, "password": "Rescue-Me-42"},  # another password plan: given instead of generated
        {**ENTER, "instance_id": 5203774},  # another instance
    ],
    ids=["image", "zone", "password-plan", "instance"],
)
async def test_a_confirmation_of_another_action_than_previewed_sends_nothing(
    ruled: Settings, sim: Simulator, confirmed: dict[str, Any]
) -> None:
    async with client_for(ruled, "legacy") as client:
        ok(await client.call_tool("enter_rescue", PREVIEW))
        data = ok(await client.call_tool("enter_rescue", confirmed))
    assert data["executed"] is False
    assert sim.mutating_requests() == []


async def test_a_preview_by_uuid_counts_for_a_confirmation_by_name(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled, "legacy") as client:
        preview = ok(await client.call_tool("enter_rescue", PREVIEW))
        data = ok(await client.call_tool("enter_rescue", {**ENTER, "image": preview["image"]["id"]}))
    assert data["executed"] is True


async def test_a_preview_counts_once(ruled: Settings, sim: Simulator) -> None:
    sim.inject(Fault("body", mutating=True, body=json.dumps({"doc": {"error": {"msg": {"$": "busy"}}}})))
    async with client_for(ruled, "legacy") as client:
        ok(await call(client, "exit_rescue", instance_id=LEGACY))
        refused = await call(client, "exit_rescue", instance_id=LEGACY, confirm=True)
        again = ok(await call(client, "exit_rescue", instance_id=LEGACY, confirm=True))
    assert refused.is_error
    assert again["executed"] is False
    assert len(sim.mutating_requests()) == 1


async def test_a_preview_older_than_its_time_to_live_does_not_count(ruled: Settings, sim: Simulator) -> None:
    async with client_for(ruled.but(preview_ttl=1e-9), "legacy") as client:
        ok(await client.call_tool("enter_rescue", PREVIEW))
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is False
    assert sim.mutating_requests() == []


async def test_a_preview_in_one_protocol_era_counts_in_the_other(ruled: Settings, sim: Simulator) -> None:
    server = build_server(ruled)
    async with Client(server, mode=ERAS[0], cache=None) as first:
        ok(await first.call_tool("enter_rescue", PREVIEW))
    async with Client(server, mode=ERAS[1], cache=None) as second:
        data = ok(await second.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True


@pytest.fixture
def served(ruled: Settings) -> Iterator[str]:
    http_settings = ruled.but(mcp_token=TOKEN)
    app = build_http_app(build_server(http_settings), http_settings, host="127.0.0.1", port=0)
    url, stop = serve_on_loopback(app, lifespan="on")
    yield url
    stop()


@pytest.mark.both_eras
async def test_a_preview_over_http_counts_in_another_session(served: str, sim: Simulator, era: str) -> None:
    async with http_client(served, era) as one:
        ok(await one.call_tool("exit_rescue", {"instance_id": LEGACY}))
    async with http_client(served, era) as other:
        data = ok(await other.call_tool("exit_rescue", {"instance_id": LEGACY, "confirm": True}))
    assert data["executed"] is True


@pytest.mark.both_eras
async def test_the_person_is_not_asked_to_approve_an_unpreviewed_action(
    ruled: Settings, sim: Simulator, era: str, tmp_path: Path
) -> None:
    asked: list[types.ElicitRequestParams] = []

    async def person(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params)
        return types.ElicitResult(action="accept", content={"instance_id": str(WEB)})

    approving = ruled.but(require_approval=True, audit_log=str(tmp_path / "audit.jsonl"))
    async with client_for(approving, era, elicitation_callback=person) as client:
        unpreviewed = ok(await client.call_tool("enter_rescue", ENTER))
        assert asked == []
        executed = ok(await client.call_tool("enter_rescue", ENTER))
    assert (unpreviewed["executed"], executed["executed"]) == (False, True)
    assert len(asked) == 1


async def test_the_rule_can_be_turned_off(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(require_preview=False), "legacy") as client:
        data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True
