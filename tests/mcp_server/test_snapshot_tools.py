"""list_snapshots and create_snapshot over MCP: exact on the wire, nothing sent unconfirmed, the preview bound to the
kind and the name, the panel's rules refused before sending, a lost answer never sent again, progress while the image
is saved, and the guard rails (read-only, the allowlist, approval, the toolsets) as for every change."""

from __future__ import annotations

import time

import pytest

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Simulator
from zomro_rescue_mcp.simulator.front import Fault
from zomro_rescue_mcp.simulator.state import SimSnapshot

from ..conftest import call, client_for, error, ok
from ..outcome import facts, kind
from ..person import Person

pytestmark = pytest.mark.anyio

WEB, DB = 5203773, 5203774
EDIT_FIELDS = {"func", "out", "lang", "auth", "plid", "name", "sok"}


@pytest.mark.both_eras
async def test_the_list_shows_both_kinds_and_the_days_count(settings: Settings, sim: Simulator, era: str) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    sim.instances[WEB].snapshots = [SimSnapshot(11, "before-fix", today, 0.0)]
    sim.instances[WEB].backups = [SimSnapshot(12, "weekly", "2026-11-30", 0.0)]
    async with client_for(settings, era) as client:
        data = ok(await call(client, "list_snapshots", instance_id=WEB))
    rows = [(s["kind"], s["name"], s["status"], s["created"]) for s in data["snapshots"]]
    assert rows == [("snapshot", "before-fix", "Active", today), ("backup", "weekly", "Active", "2026-11-30")]
    assert (data["made_today"], data["per_day"]) == ({"snapshot": 1, "backup": 0}, 5)
    assert sim.mutating_requests() == []


@pytest.mark.both_eras
async def test_a_confirm_with_its_preview_id_sends_the_edit_once(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings.but(require_preview=True), era) as client:
        shown = ok(await call(client, "create_snapshot", instance_id=WEB, name="before-fix"))
        assert sim.mutating_requests() == []
        data = ok(
            await call(
                client,
                "create_snapshot",
                instance_id=WEB,
                name="before-fix",
                confirm=True,
                preview_id=shown["preview_id"],
            )
        )
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == EDIT_FIELDS
    assert (sent.fields["func"], sent.fields["plid"], sent.fields["name"], sent.fields["sok"]) == (
        "instances.snapshots.edit",
        str(WEB),
        "before-fix",
        "ok",
    )
    assert (data["executed"], data["wait"], data["snapshot"]["status"]) == (True, "reached", "Active")


async def test_a_backup_goes_to_the_backups_call(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings, "auto") as client:
        data = ok(await call(client, "create_snapshot", instance_id=WEB, name="n", kind="backup", confirm=True))
    assert [r.func for r in sim.mutating_requests()] == ["instances.fleio_bckps.edit"]
    assert data["image_kind"] == "backup"


async def test_a_preview_of_another_name_confirms_nothing(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(require_preview=True), "auto") as client:
        shown = ok(await call(client, "create_snapshot", instance_id=WEB, name="one"))
        data = ok(
            await call(
                client, "create_snapshot", instance_id=WEB, name="two", confirm=True, preview_id=shown["preview_id"]
            )
        )
    assert (data["executed"], data["kind"], data["preview_refusal"]) == (False, "refused.preview_required", "different")
    assert sim.mutating_requests() == []


async def test_an_instance_in_rescue_mode_is_refused_with_nothing_sent(settings: Settings, sim: Simulator) -> None:
    sim.instances[WEB].status = "rescued"
    async with client_for(settings, "auto") as client:
        result = await call(client, "create_snapshot", instance_id=WEB, name="x", confirm=True)
    assert kind(result) == "refused.state"
    assert "is in rescue mode" in error(result)
    assert facts(result)["next"] == "exit_rescue"
    assert sim.mutating_requests() == []


async def test_the_sixth_of_the_day_is_refused_with_nothing_sent(settings: Settings, sim: Simulator) -> None:
    today = time.strftime("%Y-%m-%d", time.gmtime())
    sim.instances[WEB].snapshots = [SimSnapshot(i, f"s{i}", today, 0.0) for i in range(5)]
    async with client_for(settings, "auto") as client:
        result = await call(client, "create_snapshot", instance_id=WEB, name="x")
    assert "Zomro allows 5 a day" in error(result)
    assert error(result).endswith(f"Next: call list_snapshots(instance_id={WEB}) to see them.")
    assert (facts(result)["made_today"], facts(result)["next"], sim.mutating_requests()) == (5, "list_snapshots", [])


async def test_a_lost_answer_is_outcome_unknown_and_never_sent_again(settings: Settings, sim: Simulator) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=5))
    async with client_for(settings, "auto") as client:
        result = await call(client, "create_snapshot", instance_id=WEB, name="x", confirm=True)
    assert kind(result) == "outcome_unknown"
    assert [r.func for r in sim.mutating_requests()] == ["instances.snapshots.edit"]


@pytest.mark.both_eras
async def test_the_person_is_asked_and_a_decline_sends_nothing(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("decline")
    async with client_for(settings.but(require_approval="always"), era, elicitation_callback=person) as client:
        result = await call(client, "create_snapshot", instance_id=WEB, name="before-fix", confirm=True)
    [question] = person.asked
    assert "named 'before-fix' will be made" in question.message
    assert kind(result) == "refused.approval"
    assert sim.mutating_requests() == []


@pytest.mark.both_eras
async def test_an_approved_question_makes_it(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept")
    async with client_for(settings.but(require_approval="always"), era, elicitation_callback=person) as client:
        data = ok(await call(client, "create_snapshot", instance_id=WEB, name="x", confirm=True, wait=False))
    assert (data["executed"], data["approved_by"], data["wait"]) == (True, "person (elicitation)", "not_waited")
    assert len(sim.mutating_requests()) == 1


async def test_read_only_lists_but_never_creates(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(read_only=True), "auto") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        result = await call(client, "create_snapshot", instance_id=WEB, name="x", confirm=True)
    assert "list_snapshots" in names
    assert "create_snapshot" not in names
    assert kind(result) == "refused.read_only"
    assert sim.mutating_requests() == []


async def test_an_instance_outside_the_allowlist_is_refused(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(allowed_instances=frozenset({WEB})), "auto") as client:
        listed = await call(client, "list_snapshots", instance_id=DB)
        made = await call(client, "create_snapshot", instance_id=DB, name="x", confirm=True)
    assert (kind(listed), kind(made)) == ("refused.allowlist", "refused.allowlist")
    assert not any(r.func.startswith("instances.snapshots") for r in sim.requests)


async def test_outside_its_toolset_it_is_refused_with_a_sentence(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(toolsets=frozenset({"rescue"})), "auto") as client:
        result = await call(client, "create_snapshot", instance_id=WEB, name="x", confirm=True)
    assert kind(result) == "refused.toolset"
    assert sim.requests == []


async def test_progress_follows_the_image_until_it_is_active(settings: Settings, sim: Simulator) -> None:
    sim.transition_seconds = 0.3
    said: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        said.append(message or "")

    async with client_for(settings, "auto") as client:
        arguments = {"instance_id": WEB, "name": "x", "confirm": True}
        ok(await client.call_tool("create_snapshot", arguments, progress_callback=on_progress))
    assert said[-1] == "snapshot 'x': Active"
    assert any(message.endswith(": Saving") for message in said)
