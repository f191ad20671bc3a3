"""reset_root_password over MCP: the preview rule, the person's approval through elicitation and the guard rails hold
as for every change; a generated password is shown once, in the executed result, and no password is ever shown back,
audited or logged; Windows and stopped instances are refused before anything is sent."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import mcp.types as types
import pytest

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.settings.toolsets import parse_toolsets
from zomro_rescue_mcp.simulator import Simulator

from ..conftest import call, client_for, error, ok, text
from ..outcome import facts, kind
from ..person import Person

pytestmark = pytest.mark.anyio

WEB, DB = 5203773, 5203774  # active in the simulator's default data
GOOD = "Fresh-Passw0rd9"
CHANGE_PASSWORD = "instances.fleio.changepassword"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The password toolset is not offered by default: these servers offer it beside rescue."""
    return settings.but(toolsets=parse_toolsets("ZOMRO_TOOLSETS", "rescue,password"))


def shown(result: types.CallToolResult) -> str:
    """Everything a result shows: its words and its structured content."""
    return text(result) + json.dumps(result.structured_content)


@pytest.mark.both_eras
async def test_a_confirm_with_its_preview_id_sends_changepassword_once(
    settings: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(settings.but(require_preview=True), era) as client:
        preview = ok(await call(client, "reset_root_password", instance_id=WEB, password=GOOD))
        data = ok(
            await call(
                client,
                "reset_root_password",
                instance_id=WEB,
                password=GOOD,
                confirm=True,
                preview_id=preview["preview_id"],
            )
        )
    assert (data["kind"], data["executed"], data["password_plan"]) == ("executed", True, "provided")
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "elid", "password", "sok", "clicked_button"}
    assert (sent.fields["func"], sent.fields["elid"]) == (CHANGE_PASSWORD, str(WEB))
    assert (sent.fields["password"], sent.fields["sok"], sent.fields["clicked_button"]) == (GOOD, "ok", "ok")


async def test_a_preview_sends_nothing(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings, "auto") as client:
        data = ok(await call(client, "reset_root_password", instance_id=WEB, password=GOOD))
    assert (data["kind"], data["executed"], data["password_plan"]) == ("preview", False, "provided")
    assert sim.mutating_requests() == []
    assert sim.instances[WEB].root_password is None


async def test_a_preview_id_of_another_instance_confirms_nothing(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(require_preview=True), "auto") as client:
        preview = ok(await call(client, "reset_root_password", instance_id=WEB))
        data = ok(
            await call(client, "reset_root_password", instance_id=DB, confirm=True, preview_id=preview["preview_id"])
        )
    assert (data["kind"], data["executed"]) == ("refused.preview_required", False)
    assert sim.mutating_requests() == []


async def test_a_generated_password_is_shown_once_in_the_executed_result(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings, "auto") as client:
        preview = await call(client, "reset_root_password", instance_id=WEB)
        executed = await call(client, "reset_root_password", instance_id=WEB, confirm=True)
        after = await call(client, "reset_root_password", instance_id=WEB)
    password = sim.instances[WEB].root_password
    assert password
    assert (ok(preview)["password"], ok(executed)["password"], ok(after)["password"]) == (None, password, None)
    assert text(executed).count(password) == 1  # the model's words carry it too: many clients show only those
    assert password not in shown(preview)
    assert password not in shown(after)


async def test_a_given_password_is_never_shown_back(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings, "auto") as client:
        preview = await call(client, "reset_root_password", instance_id=WEB, password=GOOD)
        executed = await call(client, "reset_root_password", instance_id=WEB, password=GOOD, confirm=True)
    assert ok(executed)["password"] is None
    assert sim.instances[WEB].root_password == GOOD
    assert GOOD not in shown(preview)
    assert GOOD not in shown(executed)


async def test_no_password_reaches_the_audit_trail_or_the_logs(
    settings: Settings, sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: the product's, the SDK's and the HTTP client's
    path = tmp_path / "audit.jsonl"
    async with client_for(settings.but(audit_log=str(path)), "auto") as client:
        generated = ok(await call(client, "reset_root_password", instance_id=WEB, confirm=True))["password"]
        ok(await call(client, "reset_root_password", instance_id=WEB, password=GOOD, confirm=True))
    trail = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(e["tool"], e["password_plan"], e["result"]) for e in trail] == [
        ("reset_root_password", "generated", "pending"),
        ("reset_root_password", "generated", "executed"),
        ("reset_root_password", "provided", "pending"),
        ("reset_root_password", "provided", "executed"),
    ]
    assert "setting the root password" in caplog.text
    for secret in (generated, GOOD):
        assert secret not in path.read_text(encoding="utf-8")
        assert secret not in caplog.text


@pytest.mark.both_eras
async def test_the_person_is_asked_with_what_happens(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("accept")
    async with client_for(settings.but(require_approval="always"), era, elicitation_callback=person) as client:
        data = ok(await call(client, "reset_root_password", instance_id=WEB, password=GOOD, confirm=True))
    [question] = person.asked
    assert f"The root password of instance {WEB} will be set to the password the person gave" in question.message
    assert GOOD not in question.message
    assert (data["executed"], data["approved_by"]) == (True, "person (elicitation)")
    assert [r.func for r in sim.mutating_requests()] == [CHANGE_PASSWORD]


@pytest.mark.both_eras
async def test_a_declined_question_sends_nothing(settings: Settings, sim: Simulator, era: str) -> None:
    person = Person("decline")
    async with client_for(settings.but(require_approval="always"), era, elicitation_callback=person) as client:
        result = await call(client, "reset_root_password", instance_id=WEB, confirm=True)
    assert len(person.asked) == 1
    assert kind(result) == "refused.approval"
    assert sim.mutating_requests() == []
    assert sim.instances[WEB].root_password is None


async def test_a_preview_asks_nobody(settings: Settings, sim: Simulator) -> None:
    person = Person("accept")
    async with client_for(settings.but(require_approval="always"), "auto", elicitation_callback=person) as client:
        ok(await call(client, "reset_root_password", instance_id=WEB))
    assert person.asked == []


@pytest.mark.both_eras
async def test_read_only_hides_it(settings: Settings, sim: Simulator, era: str) -> None:
    async with client_for(settings.but(read_only=True), era) as client:
        offered = {t.name for t in (await client.list_tools()).tools}
    assert "list_instances" in offered
    assert "reset_root_password" not in offered


async def test_read_only_refuses_it_with_a_sentence(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(read_only=True), "auto") as client:
        result = await call(client, "reset_root_password", instance_id=WEB, password=GOOD, confirm=True)
    assert kind(result) == "refused.read_only"
    assert "reset_root_password is not offered: this server runs in read-only mode" in error(result)
    assert GOOD not in error(result)
    assert sim.requests == []


async def test_an_instance_outside_the_allowlist_is_refused(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(allowed_instances=frozenset({WEB})), "auto") as client:
        result = await call(client, "reset_root_password", instance_id=DB, confirm=True)
    assert (kind(result), facts(result)["instance_id"]) == ("refused.allowlist", DB)
    assert sim.mutating_requests() == []


async def test_a_windows_instance_is_refused_with_a_sentence(settings: Settings, sim: Simulator) -> None:
    sim.instances[WEB].os_distro = "Windows"
    async with client_for(settings, "auto") as client:
        result = await call(client, "reset_root_password", instance_id=WEB, confirm=True)
    assert kind(result) == "refused.state"
    assert f"Instance {WEB} runs Windows" in error(result)
    assert "nothing was sent" in error(result)
    assert "VNC console" in error(result)
    assert sim.mutating_requests() == []


async def test_a_stopped_instance_is_refused_with_a_sentence(settings: Settings, sim: Simulator) -> None:
    sim.instances[WEB].status = "stopped"
    async with client_for(settings, "auto") as client:
        result = await call(client, "reset_root_password", instance_id=WEB, password=GOOD, confirm=True)
    assert (kind(result), facts(result)["status"]) == ("refused.state", "stopped")
    assert f"Instance {WEB} is stopped (state stopped): nothing was sent" in error(result)
    assert "power_instance action=start" in error(result)
    assert sim.mutating_requests() == []
