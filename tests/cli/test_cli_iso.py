"""`isos`, `boot-iso` and `reset-password`: the preview and a typed id before anything is sent, sent once; a password
the person gives is read from stdin and never printed, a generated one is printed once."""

from __future__ import annotations

import io
import json

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.simulator import Fault, Simulator
from zomro_rescue_mcp.simulator.recovery_calls import ISO_IMAGES

pytestmark = pytest.mark.usefixtures("restore_logging")

WEB = 5203773  # active in the simulator's default data
LEGACY = 5203775  # in rescue mode
GOOD = "Fresh-Passw0rd9"
RESCUE_ISO = ISO_IMAGES[0]  # (uuid, label, zone)
CHANGES = {
    "boot-iso": ["boot-iso", str(WEB), RESCUE_ISO[1]],
    "reset-password": ["reset-password", str(WEB)],
}


@pytest.fixture
def env(server_env: dict[str, str]) -> dict[str, str]:
    on = {k: v for k, v in server_env.items() if k != "ZOMRO_REQUIRE_PREVIEW"}  # the CLI runs with the preview rule
    return {**on, "ZOMRO_TIMEOUT": "1", "ZOMRO_POLL_INTERVAL": "1", "ZOMRO_LOG_LEVEL": "WARNING"}


def never_asked(question: str) -> str | None:
    raise AssertionError(f"the person was asked: {question}")


def test_isos_lists_the_offered_isos_as_a_table(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["isos", str(WEB)], env=env, ask=never_asked) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"instance {WEB} (web-1) is active"
    assert out[1].split() == ["ISO", "ZONE", "NAME"]
    assert [line.split(maxsplit=2) for line in out[2 : 2 + len(ISO_IMAGES)]] == [
        [uuid, zone, label] for uuid, label, zone in ISO_IMAGES
    ]
    assert out[-1].startswith(f"next: `zomro-rescue-mcp boot-iso {WEB} ISO`")


def test_isos_json_is_the_list_as_data(env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["isos", str(WEB), "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["instance_id"], data["status"]) == ("isos", WEB, "active")
    assert [(i["id"], i["name"], i["zone"]) for i in data["images"]] == list(ISO_IMAGES)
    assert sim.mutating_requests() == []


def test_boot_iso_asks_for_the_id_then_sends_the_form_once(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    questions: list[str] = []

    def person(question: str) -> str:
        questions.append(question)
        return str(WEB)

    assert main(["boot-iso", str(WEB), "systemrescue"], env=env, ask=person) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"PREVIEW: instance {WEB} will reboot from the ISO {RESCUE_ISO[1]}")
    assert questions == [f"Type the instance id {WEB} to go ahead (anything else cancels): "]
    assert f"EXECUTED: Zomro accepted the request: instance {WEB} is booting from the ISO" in out
    assert f"`zomro-rescue-mcp exit {WEB}`" in out.split("next:")[-1]
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "elid", "sok", "select_boot_from_iso", "zone"}
    assert (sent.func, sent.fields["elid"], sent.fields["select_boot_from_iso"], sent.fields["zone"]) == (
        "instances.fleio.boot_from_iso",
        str(WEB),
        RESCUE_ISO[0],
        RESCUE_ISO[2],
    )
    assert sim.instances[WEB].status == "booted_from_iso"


@pytest.mark.parametrize("command", CHANGES)
def test_a_wrong_id_sends_nothing(command: str, env: dict[str, str], sim: Simulator) -> None:
    assert main(CHANGES[command], env=env, ask=lambda q: "no") == 3
    assert sim.mutating_requests() == []


@pytest.mark.parametrize("command", CHANGES)
def test_dry_run_shows_the_preview_and_sends_nothing(
    command: str, env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*CHANGES[command], "--dry-run", "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["instance_id"], data["executed"]) == ("preview", WEB, False)
    assert data["next_step"].startswith("Nothing was sent")
    assert sim.mutating_requests() == []


@pytest.mark.parametrize("command", CHANGES)
def test_read_only_refuses_it(
    command: str, env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*CHANGES[command], "--yes"], env={**env, "ZOMRO_READ_ONLY": "1"}, ask=never_asked) == 3
    assert "read-only mode" in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_boot_iso_of_an_instance_in_rescue_mode_is_refused_with_a_sentence(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["boot-iso", str(LEGACY), RESCUE_ISO[0], "--yes"], env=env, ask=never_asked) == 3
    err = capsys.readouterr().err
    assert f"Instance {LEGACY} is in rescue mode (state rescued): nothing was sent." in err
    assert f"`zomro-rescue-mcp exit {LEGACY}`" in err
    assert sim.mutating_requests() == []


def test_an_iso_that_is_not_offered_is_refused_with_the_command_that_lists_them(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["boot-iso", str(WEB), "no-such.iso", "--yes"], env=env, ask=never_asked) == 2
    err = capsys.readouterr().err
    assert f"`zomro-rescue-mcp isos {WEB}` lists them." in err
    assert "list_iso_images" not in err
    assert sim.mutating_requests() == []


def test_a_lost_boot_answer_exits_4_and_is_not_sent_again(env: dict[str, str], sim: Simulator) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=3))
    assert main(["boot-iso", str(WEB), RESCUE_ISO[0], "--yes"], env=env, ask=never_asked) == 4
    assert [r.func for r in sim.mutating_requests()] == ["instances.fleio.boot_from_iso"]


def test_reset_password_sends_the_given_password_once_and_never_prints_it(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.StringIO(GOOD + "\n")
    assert main(["reset-password", str(WEB), "--password-stdin"], env=env, ask=lambda q: str(WEB), stdin=stdin) == 0
    said = capsys.readouterr()
    assert "the password you gave" in said.out
    assert f"EXECUTED: Zomro accepted the new root password of instance {WEB}." in said.out
    assert GOOD not in said.out + said.err
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "elid", "password", "sok", "clicked_button"}
    assert (sent.func, sent.fields["elid"], sent.fields["password"]) == (
        "instances.fleio.changepassword",
        str(WEB),
        GOOD,
    )
    assert sim.instances[WEB].root_password == GOOD


def test_reset_password_shows_a_generated_password_once(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reset-password", str(WEB)], env=env, ask=lambda q: str(WEB)) == 0
    said = capsys.readouterr()
    generated = sim.instances[WEB].root_password
    assert generated
    assert said.out.count(generated) == 1
    assert f"root password (shown once, stored nowhere): {generated}" in said.out
    assert generated not in said.err


def test_reset_password_json_holds_the_generated_password_once(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reset-password", str(WEB), "--yes", "--json"], env=env, ask=never_asked) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert (data["executed"], data["password_plan"], data["password"]) == (
        True,
        "generated",
        sim.instances[WEB].root_password,
    )
    assert out.count(data["password"]) == 1


def test_reset_password_with_an_empty_stdin_sends_nothing(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.StringIO("")
    assert main(["reset-password", str(WEB), "--password-stdin", "--yes"], env=env, ask=never_asked, stdin=stdin) == 3
    assert "No root password was read from stdin" in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_reset_password_of_a_stopped_instance_is_refused_with_a_sentence(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.instances[WEB].status = "stopped"
    assert main(["reset-password", str(WEB), "--yes"], env=env, ask=never_asked) == 3
    assert f"Instance {WEB} is stopped (state stopped): nothing was sent." in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_a_lost_password_answer_is_not_sent_again_and_still_says_the_generated_password(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=3))
    assert main(["reset-password", str(WEB), "--yes"], env=env, ask=never_asked) == 4
    assert [r.func for r in sim.mutating_requests()] == ["instances.fleio.changepassword"]
    generated = sim.instances[WEB].root_password
    assert generated
    assert f"the root password is now {generated}" in capsys.readouterr().err
