"""Pre-flight: the instance's state is read first, and a state that forbids the action sends nothing."""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import Fault, Simulator

from ..conftest import call, error, ok
from ..outcome import facts, kind

pytestmark = pytest.mark.anyio

WEB, LEGACY = 5203773, 5203775


@pytest.mark.parametrize("confirm", [False, True])
async def test_enter_refuses_an_instance_already_in_rescue(client: Client, sim: Simulator, confirm: bool) -> None:
    result = await call(client, "enter_rescue", instance_id=LEGACY, image="Ubuntu 22.04", confirm=confirm)
    assert (kind(result), facts(result)) == (
        "refused.state",
        {"status": "rescued", "instance_id": LEGACY, "next": "exit_rescue", "account": "default"},
    )
    assert "Next: call exit_rescue(instance_id=5203775) first" in error(result)
    assert sim.mutating_requests() == []


async def test_enter_refuses_an_instance_booted_from_an_iso(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].status = "booted_from_iso"
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert (kind(result), facts(result)["status"]) == ("refused.state", "booted_from_iso")
    assert sim.mutating_requests() == []


@pytest.mark.parametrize("state", ["rescuing", "unrescuing", "rebooting", "rebuilding", "resizing"])
async def test_enter_refuses_a_busy_instance(client: Client, sim: Simulator, state: str) -> None:
    sim.instances[WEB].status = state
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert (kind(result), facts(result)["status"]) == ("refused.state", state)
    assert sim.mutating_requests() == []


async def test_enter_refuses_the_error_state_as_the_panel_does(client: Client, sim: Simulator) -> None:
    result = await call(client, "enter_rescue", instance_id=5203776, image="Debian 12", confirm=True)
    assert (kind(result), facts(result)) == (
        "refused.state",
        {"status": "error", "instance_id": 5203776, "account": "default"},
    )
    assert "is in the error state" in error(result)
    assert sim.mutating_requests() == []


async def test_enter_refuses_a_billing_inactive_instance_before_sending(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].billing_status, sim.instances[WEB].item_status = "5", "Suspended"
    result = await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True)
    assert kind(result) == "refused.state"
    assert "is not active in billing (Suspended, billing status 5)" in error(result)
    assert sim.mutating_requests() == []


async def test_a_state_the_panel_does_not_name_is_sent_with_a_note(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].status = "paused"
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04"))
    assert data["status_before"] == "paused"
    assert any("Zomro decides" in note for note in data["notes"])


@pytest.mark.parametrize("confirm", [False, True])
async def test_exit_refuses_an_instance_not_in_rescue(client: Client, sim: Simulator, confirm: bool) -> None:
    result = await call(client, "exit_rescue", instance_id=WEB, confirm=confirm)
    assert (kind(result), facts(result)) == (
        "refused.state",
        {"status": "active", "instance_id": WEB, "account": "default"},
    )
    assert "There is nothing to do" in error(result)
    assert sim.mutating_requests() == []


async def test_exit_refuses_an_instance_still_entering_rescue(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].status = "rescuing"
    result = await call(client, "exit_rescue", instance_id=WEB, confirm=True)
    assert (kind(result), facts(result)["status"]) == ("refused.state", "rescuing")
    assert "Try again when it is rescued" in error(result)
    assert sim.mutating_requests() == []


async def test_exit_also_leaves_an_iso_boot(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].status = "booted_from_iso"
    data = ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    assert data["status_before"] == "booted_from_iso"
    assert data["status"] == "active"


async def test_previews_show_the_state_they_saw(client: Client, sim: Simulator) -> None:
    enter = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04"))
    leave = ok(await call(client, "exit_rescue", instance_id=LEGACY))
    assert (enter["status_before"], leave["status_before"]) == ("active", "rescued")
    assert sim.mutating_requests() == []


async def test_an_unreadable_state_is_said_and_the_api_decides(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("http_status", func="instances", status=503, times=3))
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image="Ubuntu 22.04", confirm=True))
    assert data["status_before"] is None
    assert any("state could not be read" in note and "Zomro decides" in note for note in data["notes"])
    assert len(sim.mutating_requests()) == 1


async def test_an_unreadable_state_never_becomes_an_invented_one(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("http_status", func="instances", status=503, times=3))
    data = ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert data["status"] is None
    assert data["name"] is None
    assert len(data["images"]) == 16
