"""`reboot`, `start` and `stop`: the preview and a typed id before anything is sent, sent once, watched to the end."""

from __future__ import annotations

import json

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.simulator import Fault, Simulator

pytestmark = pytest.mark.usefixtures("restore_logging")

WEB = 5203773


@pytest.fixture
def env(server_env: dict[str, str]) -> dict[str, str]:
    on = {k: v for k, v in server_env.items() if k != "ZOMRO_REQUIRE_PREVIEW"}  # the CLI runs with the preview rule
    return {**on, "ZOMRO_TIMEOUT": "1", "ZOMRO_POLL_INTERVAL": "1", "ZOMRO_LOG_LEVEL": "WARNING"}


def never_asked(question: str) -> str | None:
    raise AssertionError(f"the person was asked: {question}")


def test_stop_asks_for_the_id_then_stops(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    questions: list[str] = []

    def person(question: str) -> str:
        questions.append(question)
        return str(WEB)

    assert main(["stop", str(WEB)], env=env, ask=person) == 0
    out = capsys.readouterr().out
    assert out.startswith("PREVIEW: Instance 5203773 will be shut down")
    assert "Billing goes on while it is stopped" in out.split("EXECUTED")[0]  # shown before the question
    assert questions == ["Type the instance id 5203773 to go ahead (anything else cancels): "]
    assert "EXECUTED: Zomro accepted the request to stop instance 5203773" in out
    assert "next: it is stopped." in out
    assert [(r.func, set(r.fields)) for r in sim.mutating_requests()] == [
        ("service.stop", {"func", "out", "lang", "auth", "elid"})
    ]
    assert sim.instances[WEB].status == "stopped"


def test_a_wrong_id_sends_nothing(env: dict[str, str], sim: Simulator) -> None:
    assert main(["reboot", str(WEB)], env=env, ask=lambda q: "no") == 3
    assert sim.mutating_requests() == []


def test_dry_run_shows_the_preview_and_sends_nothing(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reboot", str(WEB), "--dry-run", "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["action"], data["executed"]) == ("preview", "reboot", False)
    assert sim.mutating_requests() == []


def test_start_of_a_running_instance_is_refused_with_a_sentence(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["start", str(WEB), "--yes"], env=env, ask=never_asked) == 3
    assert "is not stopped, so it cannot be started" in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_start_with_yes_starts_a_stopped_instance(env: dict[str, str], sim: Simulator) -> None:
    sim.instances[WEB].status = "stopped"
    assert main(["start", str(WEB), "--yes", "--json"], env=env, ask=never_asked) == 0
    assert [r.func for r in sim.mutating_requests()] == ["service.start"]
    assert sim.instances[WEB].status == "active"


def test_a_lost_answer_exits_4_and_is_not_sent_again(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=3))
    assert main(["reboot", str(WEB), "--yes"], env=env, ask=never_asked) == 4
    assert [r.func for r in sim.mutating_requests()] == ["service.reboot"]


def test_read_only_refuses_it(env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stop", str(WEB), "--yes"], env={**env, "ZOMRO_READ_ONLY": "1"}, ask=never_asked) == 3
    assert "read-only mode" in capsys.readouterr().err
    assert sim.mutating_requests() == []
