"""exit_rescue: preview changes nothing; the confirmed call is unrescue without sok."""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import Simulator

from ..conftest import call, error, ok
from ..outcome import facts, kind

pytestmark = pytest.mark.anyio

LEGACY = 5203775  # in rescue mode in the simulator's default data


async def test_unconfirmed_exit_sends_nothing(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "exit_rescue", instance_id=LEGACY))
    assert data["executed"] is False
    assert "will leave rescue mode" in data["summary"]
    assert sim.mutating_requests() == []
    assert sim.instances[LEGACY].status == "rescued"


async def test_confirmed_exit_sends_unrescue_without_sok(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "exit_rescue", instance_id=LEGACY, confirm=True))
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "elid"}
    assert sent.fields["func"] == "instances.fleio.unrescue"
    assert sent.fields["elid"] == str(LEGACY)
    assert data["executed"] is True
    assert sim.instances[LEGACY].status == "active"


async def test_exit_of_an_instance_not_in_rescue_is_a_clear_refusal(client: Client, sim: Simulator) -> None:
    result = await call(client, "exit_rescue", instance_id=5203773, confirm=True)
    assert (kind(result), facts(result)) == (
        "refused.state",
        {"status": "active", "instance_id": 5203773, "account": "default"},
    )
    assert "There is nothing to do" in error(result)
    assert sim.mutating_requests() == []
    assert sim.instances[5203773].status == "active"


async def test_exit_of_an_unknown_instance_names_it(client: Client, sim: Simulator) -> None:
    result = await call(client, "exit_rescue", instance_id=77, confirm=True)
    assert (kind(result), facts(result)["instance_id"]) == ("api.not_found", 77)
    assert "Instance 77 was not found" in error(result)


async def test_round_trip_enter_then_exit(client: Client, sim: Simulator) -> None:
    ok(await call(client, "enter_rescue", instance_id=5203773, image="Debian 12", confirm=True))
    assert sim.instances[5203773].status == "rescued"
    ok(await call(client, "exit_rescue", instance_id=5203773, confirm=True))
    assert sim.instances[5203773].status == "active"
    assert [r.func for r in sim.mutating_requests()] == ["instances.fleio.rescue", "instances.fleio.unrescue"]
