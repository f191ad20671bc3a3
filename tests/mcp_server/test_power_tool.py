"""power_instance over MCP: the preview rule binds the action and the instance, the person approves through
elicitation, and the guard rails (read-only, the allowlist, the audit trail, the account rule) hold as for every
change."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, Simulator

from ..conftest import call, client_for, error, ok
from ..outcome import facts, kind
from ..person import Person
from .test_accounts_mcp import SECOND, two_accounts

pytestmark = pytest.mark.anyio

WEB, DB = 5203773, 5203774


@pytest.mark.both_eras
async def test_a_confirm_with_its_preview_id_is_executed(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings.but(require_preview=True), era) as client:
        shown = ok(await call(client, "power_instance", instance_id=WEB, action="stop"))
        data = ok(
            await call(
                client, "power_instance", instance_id=WEB, action="stop", confirm=True, preview_id=shown["preview_id"]
            )
        )
    assert (data["kind"], data["status"]) == ("executed", "stopped")
    assert [r.func for r in sim.mutating_requests()] == ["service.stop"]


@pytest.mark.both_eras
async def test_a_preview_id_of_another_action_confirms_nothing(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings.but(require_preview=True), era) as client:
        shown = ok(await call(client, "power_instance", instance_id=WEB, action="reboot"))
        data = ok(
            await call(
                client, "power_instance", instance_id=WEB, action="stop", confirm=True, preview_id=shown["preview_id"]
            )
        )
    assert (data["kind"], data["preview_refusal"]) == ("refused.preview_required", "different")
    assert sim.mutating_requests() == []


async def test_a_preview_id_of_another_instance_confirms_nothing(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(require_preview=True), "auto") as client:
        shown = ok(await call(client, "power_instance", instance_id=WEB, action="reboot"))
        data = ok(
            await call(
                client, "power_instance", instance_id=DB, action="reboot", confirm=True, preview_id=shown["preview_id"]
            )
        )
    assert data["kind"] == "refused.preview_required"
    assert sim.mutating_requests() == []


@pytest.mark.both_eras
async def test_the_person_is_asked_with_what_happens(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept")
    async with client_for(settings.but(require_approval="always"), era, elicitation_callback=person) as client:
        data = ok(await call(client, "power_instance", instance_id=WEB, action="stop", confirm=True))
    [question] = person.asked
    assert "will be shut down" in question.message
    assert "Billing goes on" in question.message
    assert (data["executed"], data["approved_by"]) == (True, "person (elicitation)")


@pytest.mark.both_eras
async def test_a_declined_question_sends_nothing(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("decline")
    async with client_for(settings.but(require_approval="always"), era, elicitation_callback=person) as client:
        result = await call(client, "power_instance", instance_id=WEB, action="reboot", confirm=True)
    assert kind(result) == "refused.approval"
    assert sim.mutating_requests() == []


async def test_a_preview_asks_nobody(settings: Settings, sim: Simulator) -> None:
    person = Person("accept")
    async with client_for(settings.but(require_approval="always"), "auto", elicitation_callback=person) as client:
        ok(await call(client, "power_instance", instance_id=WEB, action="reboot"))
    assert person.asked == []


async def test_read_only_refuses_it_with_a_sentence(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(read_only=True), "auto") as client:
        result = await call(client, "power_instance", instance_id=WEB, action="reboot", confirm=True)
    assert kind(result) == "refused.read_only"
    assert "read-only mode" in error(result)
    assert sim.requests == []


async def test_an_instance_outside_the_allowlist_is_refused(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(allowed_instances=frozenset({WEB})), "auto") as client:
        result = await call(client, "power_instance", instance_id=DB, action="reboot")
    assert (kind(result), facts(result)["instance_id"]) == ("refused.allowlist", DB)
    assert sim.mutating_requests() == []


async def test_the_audit_trail_records_the_action(settings: Settings, sim: Simulator, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    async with client_for(settings.but(audit_log=str(path)), "auto") as client:
        ok(await call(client, "power_instance", instance_id=WEB, action="stop", confirm=True))
    intent, outcome = (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    assert (intent["tool"], intent["action"], intent["result"]) == ("power_instance", "stop", "pending")
    assert (outcome["action"], outcome["result"]) == ("stop", "executed")


async def test_a_confirmed_call_must_name_its_account_when_several_exist(
    tmp_path: Path, api_url: str, sim: Simulator
) -> None:
    sim.add_account(SECOND, DEMO_PASSWORD)
    async with client_for(two_accounts(tmp_path, api_url, top='default_account = "prod"'), "auto") as client:
        result = await call(client, "power_instance", instance_id=WEB, action="reboot", confirm=True)
        assert kind(result) == "refused.account_required"
        assert sim.mutating_requests() == []
        data = ok(await call(client, "power_instance", instance_id=WEB, action="reboot", account="prod"))
    assert "account='prod'" in data["next_step"]


@pytest.mark.both_eras
async def test_the_preview_rule_and_the_question_together(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept")
    ruled = settings.but(require_preview=True, require_approval="always")
    async with client_for(ruled, era, elicitation_callback=person) as client:
        shown = ok(await call(client, "power_instance", instance_id=WEB, action="reboot"))
        assert person.asked == []
        data = ok(
            await call(
                client, "power_instance", instance_id=WEB, action="reboot", confirm=True, preview_id=shown["preview_id"]
            )
        )
    assert len(person.asked) == 1
    assert (data["executed"], data["approved_by"]) == (True, "person (elicitation)")
    assert [r.func for r in sim.mutating_requests()] == ["service.reboot"]


@pytest.mark.both_eras
async def test_progress_of_a_reboot_only_moves_forward(settings: Settings, sim: Simulator, era: str) -> None:
    sim.transition_seconds = 0.3
    seen: list[float] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(progress)

    async with client_for(settings, era) as client:
        arguments = {"instance_id": WEB, "action": "reboot", "confirm": True}
        ok(await client.call_tool("power_instance", arguments, progress_callback=on_progress))
    assert len(seen) >= 2
    assert all(later > earlier for earlier, later in itertools.pairwise(seen))
