"""What the API answers, read as the panel reads it: JSON in errors, refusals of any shape, blocked IPs, long
operations, and answers too large or too deep — never taken for success, never lost once accepted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from zomro_rescue_mcp.operations.messages import REPLY_CUT
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Behaviour, Fault, Simulator
from zomro_rescue_mcp.wire.answers import depth_exceeds

from ..conftest import call, client_for, error, ok, text
from ..outcome import kind

pytestmark = pytest.mark.anyio

WEB, LEGACY = 5203773, 5203775
ENTER = {"instance_id": WEB, "image": "Ubuntu 22.04", "confirm": True}


def _refusal(error: object) -> str:
    return json.dumps({"doc": {"error": error}})


async def test_a_cloud_error_shows_its_field_and_message_never_raw_json(client: Client, sim: Simulator) -> None:
    msg = json.dumps({"select_boot": ["This image is not available for rescue"]})
    sim.inject(Fault("body", mutating=True, body=_refusal({"$type": "value", "$object": "", "msg": {"$": msg}})))
    message = error(await client.call_tool("enter_rescue", ENTER))
    assert "select_boot: This image is not available for rescue" in message
    assert "Next: call list_rescue_images(instance_id=5203773)" in message
    assert "{" not in message


async def test_a_state_refusal_gets_advice_that_fits_the_state(client: Client, sim: Simulator) -> None:
    msg = json.dumps({"instance_status": ["Cannot rescue an instance in state paused"]})
    sim.inject(Fault("body", mutating=True, body=_refusal({"$type": "value", "$object": "", "msg": {"$": msg}})))
    message = error(await client.call_tool("enter_rescue", ENTER))
    assert "Cannot rescue an instance in state paused" in message
    assert "already in rescue" not in message
    assert "Next: call list_instances" in message


async def test_a_cloud_error_in_the_object_of_older_builds_is_read_too(client: Client, sim: Simulator) -> None:
    obj = json.dumps({"password": ["The password does not meet the requirements"]})
    sim.inject(Fault("body", mutating=True, body=_refusal({"$type": "value", "$object": obj, "msg": {"$": "Error"}})))
    message = error(await client.call_tool("enter_rescue", ENTER))
    assert "password: The password does not meet the requirements" in message
    assert "{" not in message


@pytest.mark.parametrize(
    "refusal", [["refused", "by the cloud"], "refused as text", [{"msg": {"$": "first of two"}}, {}]]
)
async def test_a_refusal_of_any_shape_is_not_executed_and_hands_out_no_password(
    client: Client, sim: Simulator, refusal: object
) -> None:
    sim.inject(Fault("body", mutating=True, body=_refusal(refusal)))
    result = await client.call_tool("enter_rescue", ENTER)
    message = error(result)
    assert kind(result) == "api.error"
    assert "accepted" not in message
    assert result.structured_content is None
    assert sim.instances[WEB].status == "active"


async def test_http_460_says_the_ip_is_blocked_for_now(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("http_status", func="instances.fleio.rescue", status=460))
    result = await call(client, "list_rescue_images", instance_id=WEB)
    assert kind(result) == "transport"
    assert "IP address is blocked for now" in error(result)
    assert len(sim.calls("instances.fleio.rescue")) == 1


async def test_a_relative_long_operation_link_is_resolved_against_the_api_url(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("long", mutating=True))
    data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True
    assert [r.path for r in sim.requests if r.path != "/"] == ["/long", "/long"]  # on the API's own host


async def test_an_absolute_long_operation_link_is_followed_too(client: Client, sim: Simulator) -> None:
    sim.behaviour = Behaviour.legacy()
    sim.inject(Fault("long", mutating=True))
    data = ok(await client.call_tool("enter_rescue", ENTER))
    assert data["executed"] is True


async def test_an_oversized_read_is_a_clear_error_and_not_retried(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("padded", func="instances.fleio.rescue", mutating=False, size=1_100_000))
    result = await call(client, "list_rescue_images", instance_id=WEB)
    assert kind(result) == "transport"
    assert "larger than 1 MiB" in error(result)
    assert len(sim.calls("instances.fleio.rescue")) == 1


async def test_a_too_deep_read_is_a_clear_error(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("deep", func="instances.fleio.rescue", mutating=False, size=100))
    result = await call(client, "list_rescue_images", instance_id=WEB)
    assert kind(result) == "transport"
    assert "nested deeper than 64 levels" in error(result)


async def test_an_oversized_answer_to_an_accepted_change_still_hands_over_the_password(
    settings: Settings, sim: Simulator, era: str, tmp_path: Path
) -> None:
    audit = tmp_path / "audit.jsonl"
    sim.inject(Fault("padded", mutating=True, size=2_000_000))
    async with client_for(settings.but(audit_log=str(audit)), era) as client:
        result = await client.call_tool("enter_rescue", {**ENTER, "wait": False})
    data = ok(result)
    assert data["executed"] is True
    assert data["password"]
    assert REPLY_CUT in data["notes"]
    assert len(json.dumps(data["api_reply"])) < 4000
    outcome = json.loads(audit.read_text(encoding="utf-8").splitlines()[-1])
    assert outcome["result"] == "executed"


async def test_a_deep_answer_to_an_accepted_change_is_kept_bounded(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("deep", mutating=True, size=500))
    data = ok(await client.call_tool("enter_rescue", {**ENTER, "wait": False}))
    assert data["executed"] is True
    assert not depth_exceeds(data["api_reply"], 21)
    assert REPLY_CUT in data["notes"]


async def test_a_redirect_answering_a_change_is_an_unknown_outcome(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("http_status", mutating=True, status=302))
    result = await client.call_tool("enter_rescue", ENTER)
    message = error(result)
    assert kind(result) == "outcome_unknown"
    assert "not executed" not in message
    assert "root password is" in text(result)  # a generated password that may be in force is handed over
    assert len(sim.mutating_requests()) == 1
