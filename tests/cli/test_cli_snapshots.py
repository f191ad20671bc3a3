"""`snapshots` and `snapshot`: both kinds listed side by side; a new one previewed, approved by the typed id, sent once
and watched until Zomro shows it Active."""

from __future__ import annotations

import json
import time

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.simulator import Fault, Simulator
from zomro_rescue_mcp.simulator.state import SimSnapshot

pytestmark = pytest.mark.usefixtures("restore_logging")

WEB = 5203773  # active in the simulator's default data
LEGACY = 5203775  # in rescue mode


@pytest.fixture
def env(server_env: dict[str, str]) -> dict[str, str]:
    on = {k: v for k, v in server_env.items() if k != "ZOMRO_REQUIRE_PREVIEW"}  # the CLI runs with the preview rule
    return {**on, "ZOMRO_TIMEOUT": "1", "ZOMRO_POLL_INTERVAL": "1", "ZOMRO_LOG_LEVEL": "WARNING"}


def never_asked(question: str) -> str | None:
    raise AssertionError(f"the person was asked: {question}")


def today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


@pytest.fixture
def kept(sim: Simulator) -> Simulator:
    """A snapshot made today and a backup made long ago, both Active."""
    sim.instances[WEB].snapshots.append(SimSnapshot(7000001, "before-upgrade", today(), 0.0))
    sim.instances[WEB].backups.append(SimSnapshot(7000002, "weekly", "2026-01-05", 0.0))
    return sim


def test_snapshots_lists_both_kinds_as_a_table(
    env: dict[str, str], kept: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshots", str(WEB)], env=env, ask=never_asked) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"instance {WEB}: made today (UTC) 1 of 5 snapshots and 0 of 5 backups"
    assert out[1].split() == ["ID", "KIND", "NAME", "STATUS", "SIZE", "CREATED"]
    assert [line.split()[:4] + line.split()[-1:] for line in out[2:4]] == [
        ["7000001", "snapshot", "before-upgrade", "Active", today()],
        ["7000002", "backup", "weekly", "Active", "2026-01-05"],
    ]
    assert out[-1].startswith(f"next: `zomro-rescue-mcp snapshot {WEB} NAME`")


def test_snapshots_json_is_the_list_as_data(
    env: dict[str, str], kept: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshots", str(WEB), "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["instance_id"], data["made_today"]) == ("snapshots", WEB, {"snapshot": 1, "backup": 0})
    assert [(s["id"], s["kind"], s["name"], s["status"]) for s in data["snapshots"]] == [
        ("7000001", "snapshot", "before-upgrade", "Active"),
        ("7000002", "backup", "weekly", "Active"),
    ]
    assert kept.mutating_requests() == []


def test_snapshot_asks_for_the_id_then_sends_it_once_and_sees_it_active(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    questions: list[str] = []

    def person(question: str) -> str:
        questions.append(question)
        return str(WEB)

    assert main(["snapshot", str(WEB), "before-fsck"], env=env, ask=person) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"PREVIEW: A snapshot of instance {WEB} named 'before-fsck' will be made (1 of 5 today)")
    assert questions == [f"Type the instance id {WEB} to go ahead (anything else cancels): "]
    assert f"EXECUTED: Zomro accepted the request to make snapshot 'before-fsck' of instance {WEB}." in out
    assert "snapshot 'before-fsck': Active (reached" in out
    [sent] = sim.mutating_requests()
    assert set(sent.fields) == {"func", "out", "lang", "auth", "plid", "name", "sok"}
    assert (sent.func, sent.fields["plid"], sent.fields["name"], sent.fields["sok"]) == (
        "instances.snapshots.edit",
        str(WEB),
        "before-fsck",
        "ok",
    )
    assert [s.name for s in sim.instances[WEB].snapshots] == ["before-fsck"]


def test_snapshot_with_backup_makes_a_backup(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshot", str(WEB), "nightly", "--backup", "--yes", "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["executed"], data["image_kind"], data["name"], data["wait"]) == (True, "backup", "nightly", "reached")
    assert [(r.func, r.fields["name"]) for r in sim.mutating_requests()] == [("instances.fleio_bckps.edit", "nightly")]
    assert [s.name for s in sim.instances[WEB].backups] == ["nightly"]


def test_a_wrong_id_sends_nothing(env: dict[str, str], sim: Simulator) -> None:
    assert main(["snapshot", str(WEB), "before-fsck"], env=env, ask=lambda q: "no") == 3
    assert sim.mutating_requests() == []


def test_dry_run_shows_the_preview_and_sends_nothing(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshot", str(WEB), "before-fsck", "--dry-run", "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["image_kind"], data["name"], data["executed"]) == (
        "preview",
        "snapshot",
        "before-fsck",
        False,
    )
    assert sim.mutating_requests() == []


def test_a_snapshot_in_rescue_mode_is_refused_with_a_sentence(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshot", str(LEGACY), "before-fsck", "--yes"], env=env, ask=never_asked) == 3
    assert f"Instance {LEGACY} is in rescue mode (state rescued): nothing was sent." in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_a_sixth_snapshot_of_the_day_is_refused_with_a_sentence(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.instances[WEB].snapshots.extend(SimSnapshot(7000010 + n, f"s{n}", today(), 0.0) for n in range(5))
    assert main(["snapshot", str(WEB), "one-more", "--yes"], env=env, ask=never_asked) == 3
    said = capsys.readouterr().err
    assert "5 were made today, and Zomro allows 5 a day" in said
    assert f"Next: run `zomro-rescue-mcp snapshots {WEB}` to see them." in said
    assert sim.mutating_requests() == []


def test_read_only_refuses_it(env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snapshot", str(WEB), "x", "--yes"], env={**env, "ZOMRO_READ_ONLY": "1"}, ask=never_asked) == 3
    assert "read-only mode" in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_a_lost_answer_exits_4_and_is_not_sent_again(env: dict[str, str], sim: Simulator) -> None:
    sim.inject(Fault("lost_answer", mutating=True, seconds=3))
    assert main(["snapshot", str(WEB), "before-fsck", "--yes"], env=env, ask=never_asked) == 4
    assert [r.func for r in sim.mutating_requests()] == ["instances.snapshots.edit"]
