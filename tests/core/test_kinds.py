"""Every outcome is data first: each tool result, success or error, carries its kind (and an error its facts)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from zomro_rescue_mcp.core.outcomes import exit_code
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Behaviour, Fault, Simulator

from ..conftest import call, client_for

pytestmark = pytest.mark.anyio

WEB, LEGACY = 5203773, 5203775


def kind(result: CallToolResult) -> str:
    assert result.meta is not None
    return str(result.meta["zomro/kind"])


def facts(result: CallToolResult) -> dict[str, Any]:
    assert result.meta is not None
    return dict(result.meta.get("zomro/facts", {}))


@pytest.mark.both_eras
@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        ("list_instances", {}, "instances"),
        ("list_rescue_images", {"instance_id": WEB}, "images"),
        ("enter_rescue", {"instance_id": WEB, "image": "Ubuntu 22.04"}, "preview"),
        ("enter_rescue", {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True}, "executed"),
        ("exit_rescue", {"instance_id": LEGACY}, "preview"),
    ],
)
async def test_every_result_carries_its_kind(
    client: Client, sim: Simulator, tool: str, arguments: dict[str, Any], expected: str
) -> None:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error
    assert kind(result) == expected
    if tool.endswith("_rescue"):
        assert result.structured_content is not None
        assert result.structured_content["kind"] == expected


@pytest.mark.both_eras
async def test_a_refusal_by_state_carries_its_kind_and_the_state(client: Client, sim: Simulator) -> None:
    result = await call(client, "enter_rescue", instance_id=LEGACY, image="Ubuntu 22.04", confirm=True)
    assert result.is_error
    assert kind(result) == "refused.state"
    assert facts(result)["status"] == "rescued"


@pytest.mark.both_eras
@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"image": "no such image"}, "invalid.image"),
        ({"image": "Ubuntu 22.04", "password": "short"}, "invalid.password"),
        ({"image": "Ubuntu 22.04", "zone": "own"}, "invalid.image"),
        ({"image": "Ubuntu 22.04", "confirm": "yes"}, "invalid.arguments"),
    ],
)
async def test_invalid_requests_carry_their_kind(
    client: Client, sim: Simulator, arguments: dict[str, Any], expected: str
) -> None:
    result = await client.call_tool("enter_rescue", {"instance_id": WEB, **arguments})
    assert result.is_error
    assert kind(result) == expected
    assert sim.mutating_requests() == []


async def test_guard_rail_refusals_carry_their_kind(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings.but(allowed_instances=frozenset({LEGACY})), era) as client:
        refused = await call(client, "list_rescue_images", instance_id=WEB)
    async with client_for(settings.but(read_only=True), era) as client:
        hidden = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert (kind(refused), facts(refused)["instance_id"]) == ("refused.allowlist", WEB)
    assert kind(hidden) == "refused.read_only"


async def test_api_refusals_carry_the_apis_type_and_object(client: Client, sim: Simulator) -> None:
    sim.behaviour = Behaviour(denied=frozenset({"instances.fleio.rescue"}))
    result = await call(client, "list_rescue_images", instance_id=WEB)
    assert kind(result) == "api.denied"
    assert facts(result) == {"err_type": "access", "err_object": "instances.fleio.rescue", "account": "default"}


async def test_a_lost_answer_to_a_change_is_an_unknown_outcome(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=3))
    result = await call(client, "exit_rescue", instance_id=LEGACY, confirm=True)
    assert kind(result) == "outcome_unknown"


async def test_a_confirmation_without_its_preview_is_kind_preview_required(
    settings: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(settings.but(require_preview=True), era) as client:
        result = await call(client, "exit_rescue", instance_id=LEGACY, confirm=True)
    assert kind(result) == "refused.preview_required"
    assert sim.mutating_requests() == []


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        ("instances", 0),
        ("preview", 0),
        ("executed", 0),
        ("config", 2),
        ("invalid.arguments", 2),
        ("invalid.image", 3),
        ("refused.state", 3),
        ("refused.approval", 3),
        ("outcome_unknown", 4),
        ("api.error", 1),
        ("transport", 1),
    ],
)
def test_the_cli_exit_code_follows_from_the_kind(outcome: str, code: int) -> None:
    assert exit_code(outcome) == code
