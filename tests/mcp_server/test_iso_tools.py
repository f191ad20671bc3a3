"""list_iso_images and boot_from_iso over MCP: the preview rule binds the ISO and the instance, the person approves
through elicitation, the guard rails (read-only, the allowlist, the audit trail) hold as for every change, and the
panel's state rules refuse before anything is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.settings.toolsets import parse_toolsets
from zomro_rescue_mcp.simulator import Simulator
from zomro_rescue_mcp.simulator.recovery_calls import ISO_IMAGES

from ..conftest import call, client_for, error, ok
from ..outcome import facts, kind
from ..person import Person

pytestmark = pytest.mark.anyio

WEB, DB, LEGACY = 5203773, 5203774, 5203775  # active, active, rescued in the simulator's default data
RESCUE_ISO = next(i for i in ISO_IMAGES if i[1].startswith("SystemRescue"))
OWN_ISO = next(i for i in ISO_IMAGES if i[2] == "own")
ISO_FORM = "instances.fleio.boot_from_iso"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The iso toolset is not offered by default: these servers offer it beside rescue."""
    return settings.but(toolsets=parse_toolsets("ZOMRO_TOOLSETS", "rescue,iso"))


@pytest.mark.both_eras
async def test_the_list_is_the_isos_the_boot_form_offers(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings, era) as client:
        data = ok(await call(client, "list_iso_images", instance_id=WEB))
    assert [(i["id"], i["name"], i["zone"]) for i in data["images"]] == [tuple(iso) for iso in ISO_IMAGES]
    assert (data["instance_id"], data["status"]) == (WEB, "active")
    assert sim.mutating_requests() == []


@pytest.mark.both_eras
async def test_a_confirm_with_its_preview_id_sends_the_form_once(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings.but(require_preview=True), era) as client:
        shown = ok(await call(client, "boot_from_iso", instance_id=WEB, image=OWN_ISO[1]))
        data = ok(
            await call(
                client,
                "boot_from_iso",
                instance_id=WEB,
                image=OWN_ISO[1],
                confirm=True,
                preview_id=shown["preview_id"],
                wait=False,
            )
        )
    assert (data["kind"], data["executed"], data["image"]["id"]) == ("executed", True, OWN_ISO[0])
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "elid", "sok", "select_boot_from_iso", "zone"}
    assert (sent.fields["func"], sent.fields["elid"], sent.fields["sok"]) == (ISO_FORM, str(WEB), "ok")
    assert (sent.fields["select_boot_from_iso"], sent.fields["zone"]) == (OWN_ISO[0], OWN_ISO[2])


async def test_a_preview_sends_nothing(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings, "auto") as client:
        data = ok(await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0]))
    assert (data["kind"], data["executed"]) == ("preview", False)
    assert sim.mutating_requests() == []
    assert all("sok" not in r.fields for r in sim.requests if r.func == ISO_FORM)
    assert sim.instances[WEB].status == "active"


async def test_a_preview_id_of_another_iso_confirms_nothing(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(require_preview=True), "auto") as client:
        shown = ok(await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0]))
        data = ok(
            await call(
                client, "boot_from_iso", instance_id=WEB, image=OWN_ISO[0], confirm=True, preview_id=shown["preview_id"]
            )
        )
    assert (data["kind"], data["preview_refusal"]) == ("refused.preview_required", "different")
    assert sim.mutating_requests() == []


async def test_a_preview_id_of_another_instance_confirms_nothing(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(require_preview=True), "auto") as client:
        shown = ok(await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0]))
        data = ok(
            await call(
                client,
                "boot_from_iso",
                instance_id=DB,
                image=RESCUE_ISO[0],
                confirm=True,
                preview_id=shown["preview_id"],
            )
        )
    assert data["kind"] == "refused.preview_required"
    assert data["executed"] is False
    assert sim.mutating_requests() == []


@pytest.mark.both_eras
async def test_the_person_is_asked_with_what_happens(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept")
    async with client_for(settings.but(require_approval="always"), era, elicitation_callback=person) as client:
        data = ok(await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True, wait=False))
    [question] = person.asked
    assert f"Instance {WEB} will reboot from the ISO {RESCUE_ISO[1]}" in question.message
    assert "exit_rescue" in question.message
    assert (data["executed"], data["approved_by"]) == (True, "person (elicitation)")
    assert [r.func for r in sim.mutating_requests()] == [ISO_FORM]


@pytest.mark.both_eras
async def test_a_declined_question_sends_nothing(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("decline")
    async with client_for(settings.but(require_approval="always"), era, elicitation_callback=person) as client:
        result = await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True)
    assert len(person.asked) == 1
    assert kind(result) == "refused.approval"
    assert sim.mutating_requests() == []


async def test_a_preview_asks_nobody(settings: Settings, sim: Simulator) -> None:
    person = Person("accept")
    async with client_for(settings.but(require_approval="always"), "auto", elicitation_callback=person) as client:
        ok(await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0]))
    assert person.asked == []


@pytest.mark.both_eras
async def test_read_only_offers_the_list_but_not_the_boot(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings.but(read_only=True), era) as client:
        offered = {t.name for t in (await client.list_tools()).tools}
        data = ok(await call(client, "list_iso_images", instance_id=WEB))
    assert "list_iso_images" in offered
    assert "boot_from_iso" not in offered
    assert len(data["images"]) == len(ISO_IMAGES)


async def test_read_only_refuses_the_boot_with_a_sentence(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(read_only=True), "auto") as client:
        result = await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True)
    assert kind(result) == "refused.read_only"
    assert "boot_from_iso is not offered: this server runs in read-only mode" in error(result)
    assert sim.requests == []


async def test_an_instance_outside_the_allowlist_is_refused(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(allowed_instances=frozenset({WEB})), "auto") as client:
        result = await call(client, "boot_from_iso", instance_id=DB, image=RESCUE_ISO[0], confirm=True)
    assert (kind(result), facts(result)["instance_id"]) == ("refused.allowlist", DB)
    assert sim.mutating_requests() == []


async def test_the_audit_trail_records_the_boot(settings: Settings, sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with client_for(settings.but(audit_log=str(path)), "auto") as client:
        ok(await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True, wait=False))
    intent, outcome = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert (intent["tool"], intent["instance_id"], intent["result"]) == ("boot_from_iso", WEB, "pending")
    assert (intent["image_id"], intent["zone"]) == (RESCUE_ISO[0], RESCUE_ISO[2])
    assert (outcome["tool"], outcome["request_id"], outcome["result"]) == (
        "boot_from_iso",
        intent["request_id"],
        "executed",
    )


async def test_an_instance_in_rescue_mode_is_refused_with_a_sentence(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings, "auto") as client:
        result = await call(client, "boot_from_iso", instance_id=LEGACY, image=RESCUE_ISO[0], confirm=True)
    assert (kind(result), facts(result)["status"]) == ("refused.state", "rescued")
    assert f"Instance {LEGACY} is in rescue mode (state rescued): nothing was sent" in error(result)
    assert "exit_rescue" in error(result)
    assert sim.mutating_requests() == []


async def test_a_busy_instance_is_refused_with_a_sentence(settings: Settings, sim: Simulator) -> None:
    sim.instances[WEB].status = "rebooting"
    async with client_for(settings, "auto") as client:
        result = await call(client, "boot_from_iso", instance_id=WEB, image=RESCUE_ISO[0], confirm=True)
    assert kind(result) == "refused.state"
    assert f"Instance {WEB} is busy" in error(result)
    assert "nothing was sent" in error(result)
    assert sim.mutating_requests() == []
