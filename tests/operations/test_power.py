"""power_instance: the preview reads the state only; the confirmed call is service.ACTION with elid only, sent once."""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import Fault, Simulator

from ..conftest import call, error, ok
from ..outcome import facts, kind

pytestmark = pytest.mark.anyio

WEB, LEGACY, BROKEN = 5203773, 5203775, 5203776  # active, rescued, error in the simulator's default data


@pytest.mark.parametrize(("action", "status"), [("reboot", "active"), ("stop", "active"), ("start", "stopped")])
async def test_a_preview_sends_nothing_that_acts(client: Client, sim: Simulator, action: str, status: str) -> None:
    sim.instances[WEB].status = status
    data = ok(await call(client, "power_instance", instance_id=WEB, action=action))
    assert (data["kind"], data["executed"], data["action"], data["status"]) == ("preview", False, action, status)
    assert sim.mutating_requests() == []
    assert not any(r.func.startswith("service.") for r in sim.requests)  # not even without sok
    assert sim.instances[WEB].status == status


async def test_the_stop_preview_says_billing_goes_on(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "power_instance", instance_id=WEB, action="stop"))
    assert "Billing goes on while it is stopped" in data["summary"]


@pytest.mark.parametrize(
    ("action", "status", "said"),
    [
        ("reboot", "stopped", "is stopped, so it cannot be rebooted"),
        ("stop", "stopped", "is already stopped"),
        ("start", "active", "is not stopped, so it cannot be started"),
        ("reboot", "rescued", "is in rescue mode"),
        ("reboot", "booted_from_iso", "is booted from an ISO"),
        ("reboot", "rebooting", "is busy"),
        ("stop", "resizing", "is busy"),
        ("start", "image_uploading", "is having an image made of it"),
        ("reboot", "error", "is in the error state"),
        ("stop", "suspended", "is suspended"),
        ("reboot", "resized", "has a resize waiting"),
    ],
)
async def test_each_panel_rule_refuses_before_anything_is_sent(
    client: Client, sim: Simulator, action: str, status: str, said: str
) -> None:
    sim.instances[WEB].status = status
    result = await call(client, "power_instance", instance_id=WEB, action=action, confirm=True)
    assert kind(result) == "refused.state"
    assert f"Instance {WEB} {said}" in error(result)
    assert "nothing was sent" in error(result)
    assert sim.mutating_requests() == []
    assert sim.instances[WEB].status == status


async def test_an_instance_not_active_in_billing_is_refused(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].billing_status = "4"
    result = await call(client, "power_instance", instance_id=WEB, action="reboot", confirm=True)
    assert kind(result) == "refused.state"
    assert "is not active in billing" in error(result)
    assert sim.mutating_requests() == []


async def test_billing_in_progress_is_refused(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].item_status = "Activation in progress"
    result = await call(client, "power_instance", instance_id=WEB, action="stop", confirm=True)
    assert "has billing in progress (Activation in progress)" in error(result)
    assert sim.mutating_requests() == []


@pytest.mark.parametrize(("action", "status"), [("reboot", "active"), ("stop", "active"), ("start", "stopped")])
async def test_the_confirmed_call_sends_the_power_function_with_elid_only(
    client: Client, sim: Simulator, action: str, status: str
) -> None:
    sim.instances[WEB].status = status
    ok(await call(client, "power_instance", instance_id=WEB, action=action, confirm=True, wait=False))
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "elid"}
    assert (sent.fields["func"], sent.fields["elid"]) == (f"service.{action}", str(WEB))


async def test_a_stop_is_watched_until_stopped(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "power_instance", instance_id=WEB, action="stop", confirm=True))
    assert (data["kind"], data["executed"], data["wait"], data["status"]) == ("executed", True, "reached", "stopped")
    assert data["reachable"] is None  # a stopped instance is not expected to answer
    assert sim.instances[WEB].status == "stopped"


async def test_a_start_is_watched_until_active_and_checked(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].status = "stopped"
    data = ok(await call(client, "power_instance", instance_id=WEB, action="start", confirm=True))
    assert (data["wait"], data["status"], data["status_before"]) == ("reached", "active", "stopped")
    assert any("not checked: reserved address" in n for n in data["notes"])  # the reachability check ran
    assert sim.instances[WEB].status == "active"


async def test_a_reboot_is_watched_until_active_again(client: Client, sim: Simulator) -> None:
    sim.transition_seconds = 0.3
    data = ok(await call(client, "power_instance", instance_id=WEB, action="reboot", confirm=True))
    assert (data["wait"], data["status"]) == ("reached", "active")
    assert not any("not seen under way" in n for n in data["notes"])  # it was seen rebooting first
    assert [r.func for r in sim.mutating_requests()] == ["service.reboot"]


async def test_without_wait_the_result_is_the_accepted_request(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "power_instance", instance_id=WEB, action="stop", confirm=True, wait=False))
    assert (data["executed"], data["wait"], data["status"]) == (True, "not_waited", None)


async def test_a_lost_answer_is_outcome_unknown_and_never_sent_again(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=5))
    result = await call(client, "power_instance", instance_id=WEB, action="reboot", confirm=True)
    assert kind(result) == "outcome_unknown"
    assert [r.func for r in sim.mutating_requests()] == ["service.reboot"]


async def test_a_refusal_by_zomro_is_a_sentence_that_names_the_action(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].status = "paused"  # not a state the panel's rule names: sent, and the simulator refuses it
    result = await call(client, "power_instance", instance_id=WEB, action="stop", confirm=True)
    assert f"Zomro refused to stop instance {WEB}; nothing was changed" in error(result)
    assert facts(result)["instance_id"] == WEB


async def test_a_state_the_panel_does_not_name_is_sent_with_a_note(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].status = "paused"
    data = ok(await call(client, "power_instance", instance_id=WEB, action="reboot"))
    assert any("Zomro decides" in n for n in data["notes"])


async def test_an_unknown_instance_is_named(client: Client, sim: Simulator) -> None:
    result = await call(client, "power_instance", instance_id=77, action="reboot", confirm=True)
    assert (kind(result), facts(result)["instance_id"]) == ("api.not_found", 77)  # as exit_rescue: Zomro decides
    assert "Instance 77 was not found" in error(result)
