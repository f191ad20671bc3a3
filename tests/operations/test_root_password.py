"""reset_root_password: the preview reads the state only; the confirmed call is changepassword once, with the
password, sok=ok and clicked_button=ok; a generated password is shown once and never logged or audited."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from mcp import Client

from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.settings.toolsets import parse_toolsets
from zomro_rescue_mcp.simulator import Fault, Simulator

from ..conftest import call, client_for, error, ok
from ..outcome import kind

pytestmark = pytest.mark.anyio

WEB = 5203773  # active in the simulator's default data
GOOD = "Fresh-Passw0rd9"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    sets = parse_toolsets("ZOMRO_TOOLSETS", "rescue,password")
    return settings.but(toolsets=sets, audit_log=str(tmp_path / "audit.jsonl"))


def audit_text(settings: Settings) -> str:
    assert settings.guard_rails.audit_log is not None
    return Path(settings.guard_rails.audit_log).read_text(encoding="utf-8")


async def test_a_preview_sends_nothing_and_says_the_plan(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "reset_root_password", instance_id=WEB))
    assert (data["kind"], data["executed"], data["password_plan"], data["password"]) == (
        "preview",
        False,
        "generated",
        None,
    )
    assert any("guest agent" in n for n in data["notes"])
    assert sim.mutating_requests() == []
    assert sim.instances[WEB].root_password is None


async def test_the_confirmed_call_sends_changepassword_once_with_its_fields(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "reset_root_password", instance_id=WEB, password=GOOD, confirm=True))
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "elid", "password", "sok", "clicked_button"}
    assert (sent.fields["func"], sent.fields["elid"]) == ("instances.fleio.changepassword", str(WEB))
    assert (sent.fields["sok"], sent.fields["clicked_button"], sent.fields["password"]) == ("ok", "ok", GOOD)
    assert (data["executed"], data["password_plan"], data["password"]) == (True, "provided", None)
    assert GOOD not in json.dumps(data)
    assert sim.instances[WEB].root_password == GOOD


async def test_a_generated_password_is_shown_once_and_is_the_one_set(client: Client, sim: Simulator) -> None:
    data = ok(await call(client, "reset_root_password", instance_id=WEB, confirm=True))
    assert data["password_plan"] == "generated"
    assert data["password"]
    assert sim.instances[WEB].root_password == data["password"]


async def test_neither_password_reaches_the_audit_trail_or_the_logs(
    client: Client, sim: Simulator, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="zomro_rescue_mcp")
    generated = ok(await call(client, "reset_root_password", instance_id=WEB, confirm=True))["password"]
    ok(await call(client, "reset_root_password", instance_id=WEB, password=GOOD, confirm=True))
    trail = audit_text(settings)
    assert "reset_root_password" in trail
    assert '"password_plan": "generated"' in trail.replace('":"', '": "')
    assert generated not in trail
    assert GOOD not in trail
    assert generated not in caplog.text
    assert GOOD not in caplog.text


@pytest.mark.parametrize(
    ("status", "said"),
    [
        ("stopped", "is stopped"),
        ("rescued", "is in rescue mode"),
        ("booted_from_iso", "is booted from an ISO"),
        ("rebooting", "is busy"),
        ("error", "is in the error state"),
        ("suspended", "is suspended"),
        ("resized", "has a resize waiting"),
    ],
)
async def test_each_panel_rule_refuses_before_anything_is_sent(
    client: Client, sim: Simulator, status: str, said: str
) -> None:
    sim.instances[WEB].status = status
    result = await call(client, "reset_root_password", instance_id=WEB, password=GOOD, confirm=True)
    assert kind(result) == "refused.state"
    assert f"Instance {WEB} {said}" in error(result)
    assert "nothing was sent" in error(result)
    assert sim.mutating_requests() == []


async def test_a_windows_instance_is_refused_and_sent_to_the_console(client: Client, sim: Simulator) -> None:
    sim.instances[WEB].os_distro = "Windows"
    result = await call(client, "reset_root_password", instance_id=WEB, confirm=True)
    assert kind(result) == "refused.state"
    assert f"Instance {WEB} runs Windows" in error(result)
    assert "VNC console" in error(result)
    assert sim.mutating_requests() == []


async def test_a_password_against_the_rules_is_refused_without_echo(client: Client, sim: Simulator) -> None:
    result = await call(client, "reset_root_password", instance_id=WEB, password="short#1A", confirm=True)
    assert kind(result) == "invalid.password"
    assert "The root password was refused before anything was sent" in error(result)
    assert "short#1A" not in error(result)
    assert sim.mutating_requests() == []


async def test_the_preview_id_binds_the_given_password(settings: Settings, sim: Simulator) -> None:
    async with client_for(settings.but(require_preview=True), "auto") as client:
        preview = ok(await call(client, "reset_root_password", instance_id=WEB, password=GOOD))
        other = await call(
            client,
            "reset_root_password",
            instance_id=WEB,
            password=GOOD + "x",
            confirm=True,
            preview_id=preview["preview_id"],
        )
        assert ok(other)["preview_refusal"] == "different"
        assert sim.mutating_requests() == []


async def test_a_lost_answer_of_a_generated_password_says_it(client: Client, sim: Simulator) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=5))
    result = await call(client, "reset_root_password", instance_id=WEB, confirm=True)
    assert kind(result) == "outcome_unknown"
    [sent] = sim.mutating_requests()
    assert f"the root password is now {sent.fields['password']}" in error(result)
