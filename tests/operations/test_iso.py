"""list_iso_images and boot_from_iso: the boot form read without sok; the confirmed call sends it once with sok=ok,
select_boot_from_iso and zone; watched until booted_from_iso; left with exit_rescue."""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.settings.toolsets import parse_toolsets
from zomro_rescue_mcp.simulator import Fault, Simulator
from zomro_rescue_mcp.simulator.recovery_calls import ISO_IMAGES

from ..conftest import call, error, ok
from ..outcome import kind

pytestmark = pytest.mark.anyio

WEB, LEGACY = 5203773, 5203775  # active, rescued in the simulator's default data
RESCUE_ISO = next(i for i in ISO_IMAGES if i[1].startswith("SystemRescue"))
OWN_ISO = next(i for i in ISO_IMAGES if i[2] == "own")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.but(toolsets=parse_toolsets("ZOMRO_TOOLSETS", "rescue,iso"))


async def test_the_list_is_the_boot_forms_isos_with_their_zones(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "list_iso_images", instance_id=WEB))
    assert [(i["id"], i["name"], i["zone"]) for i in data["images"]] == [tuple(iso) for iso in ISO_IMAGES]
    assert (data["status"], data["name"]) == ("active", "web-1")
    assert sim.mutating_requests() == []


async def test_a_preview_reads_the_form_without_sok_and_sends_nothing(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "boot_from_iso", instance_id=WEB, image="systemrescue"))
    assert (data["kind"], data["executed"], data["image"]["id"]) == ("preview", False, RESCUE_ISO[0])
    assert sim.mutating_requests() == []
    forms = [r for r in sim.requests if r.func == "instances.fleio.boot_from_iso"]
    assert forms
    assert all("sok" not in r.fields for r in forms)
    assert sim.instances[WEB].status == "active"


async def test_the_confirmed_call_sends_the_form_once_with_the_isos_id_and_zone(client: Client, sim: Simulator) -> None:
    ok(await call(client, "boot_from_iso", instance_id=WEB, image=OWN_ISO[1], confirm=True, wait=False))
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "elid", "sok", "select_boot_from_iso", "zone"}
    assert (sent.fields["func"], sent.fields["elid"], sent.fields["sok"]) == (
        "instances.fleio.boot_from_iso",
        str(WEB),
        "ok",
    )
    assert (sent.fields["select_boot_from_iso"], sent.fields["zone"]) == (OWN_ISO[0], "own")


async def test_it_is_watched_until_booted_from_iso_and_points_to_the_console(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True))
    assert (data["executed"], data["wait"], data["status"]) == (True, "reached", "booted_from_iso")
    assert "console" in data["next_step"]
    assert "exit_rescue" in data["next_step"]
    assert sim.instances[WEB].status == "booted_from_iso"


async def test_exit_rescue_leaves_the_iso(client: Client, sim: Simulator) -> None:
    ok(await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True))
    data = ok(await call(client, "exit_rescue", instance_id=WEB, confirm=True))
    assert (data["wait"], data["status"]) == ("reached", "active")
    assert [r.func for r in sim.mutating_requests()] == ["instances.fleio.boot_from_iso", "instances.fleio.unrescue"]


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("rescued", "is in rescue mode"),
        ("booted_from_iso", "is already booted from an ISO"),
        ("rebooting", "is busy"),
        ("error", "is in the error state"),
        ("suspended", "is suspended"),
        ("resized", "has a resize waiting"),
        ("image_uploading", "is having an image made of it"),
    ],
)
async def test_each_panel_rule_refuses_before_anything_is_sent(
    client: Client, sim: Simulator, status: str, said: str
) -> None:
    sim.instances[WEB].status = status
    result = await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True)
    assert kind(result) == "refused.state"
    assert f"Instance {WEB} {said}" in error(result)
    assert "nothing was sent" in error(result)
    assert sim.mutating_requests() == []


async def test_billing_not_active_is_refused(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].billing_status = "4"
    result = await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True)
    assert "is not active in billing" in error(result)
    assert sim.mutating_requests() == []


async def test_an_iso_not_offered_is_refused_with_the_nearest_names(client: Client, sim: Simulator) -> None:
    result = await call(client, "boot_from_iso", instance_id=WEB, image="systemrescu", confirm=True)
    assert kind(result) == "invalid.image"
    assert "No ISO image 'systemrescu' is offered" in error(result)
    assert "SystemRescue 11.00" in error(result)
    assert sim.mutating_requests() == []


async def test_a_zone_that_contradicts_the_iso_is_refused(client: Client, sim: Simulator) -> None:
    result = await call(client, "boot_from_iso", instance_id=WEB, image=OWN_ISO[0], zone="pub", confirm=True)
    assert kind(result) == "invalid.image"
    assert "is in zone own, not pub" in error(result)
    assert sim.mutating_requests() == []


async def test_a_lost_answer_is_outcome_unknown_and_never_sent_again(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=5))
    result = await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True)
    assert kind(result) == "outcome_unknown"
    assert [r.func for r in sim.mutating_requests()] == ["instances.fleio.boot_from_iso"]
