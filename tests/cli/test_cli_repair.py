"""`zomro-rescue-mcp repair INSTANCE FIX [TARGET]` and `run INSTANCE -- COMMAND`: the preview first (the exact diff,
or the line and where it runs), the person's go-ahead at the terminal (the instance id typed, or --yes where allowed),
then the change once with the preview's id; --dry-run stops after the preview; bad input is a sentence, nothing done.

The rescue system is the simulator's stand-in, which answers the product's repairs from a model of the instance's
disk (a Debian root with a stale fstab line) and runs nothing else; the tests read that model to see what changed.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator, run_on_loopback
from zomro_rescue_mcp.simulator.disk_model import DiskModel
from zomro_rescue_mcp.simulator.stand_in import StandInRescueSystem

pytestmark = [
    pytest.mark.usefixtures("restore_logging"),
    pytest.mark.heavy,
]  # end to end, many seconds: make test-heavy

WEB = 5203773
RESCUE_PASSWORD = "Stand-In-Rescue-42"
STALE = "UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2"  # the recording's stale line
REPAIR = ["repair", "web-1", "fstab.add_nofail", STALE, "--rescue-password-stdin"]
DIFF_LINES = [
    "  --- a/etc/fstab",
    "  +++ b/etc/fstab",
    f"  -{STALE}",
    "  +UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults,nofail 0 2",
]


def never_asked(question: str) -> str | None:
    raise AssertionError(f"the person was asked: {question}")


def main_(argv: list[str], env: dict[str, str], ask: Callable[[str], str | None] = never_asked) -> int:
    from zomro_rescue_mcp.cli.app import main

    return main(argv, env=env, ask=ask, stdin=io.StringIO(f"{RESCUE_PASSWORD}\n"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Rescued:
    """web-1 in rescue mode on a simulator of its own, and the model of its disk its rescue system answers from."""

    env: dict[str, str]
    disk: DiskModel
    report: str  # the report the disk model started from

    def unchanged(self) -> bool:
        """The disk as its model started: the same fstab, and no backup made."""
        return self.disk.fstab == DiskModel(self.report).fstab and self.disk.backups == []


@pytest.fixture
def rescued(capsys: pytest.CaptureFixture[str]) -> Iterator[Rescued]:
    port = free_port()
    stand_in = StandInRescueSystem(port, disk_decides_boot=True)
    sim = Simulator(transition_seconds=0.2, rescue_system=stand_in)
    url, stop = run_on_loopback(sim)
    env = {
        "ZOMRO_API_URL": url,
        "ZOMRO_USERNAME": DEMO_USERNAME,
        "ZOMRO_PASSWORD": DEMO_PASSWORD,
        "ZOMRO_TIMEOUT": "5",
        "ZOMRO_POLL_INTERVAL": "1",
        "ZOMRO_RESCUE_SSH_PORT": str(port),
        "XDG_CONFIG_HOME": "/nonexistent/zomro-tests",
    }
    try:
        argv = ["enter", "web-1", "--image", "Ubuntu 22.04", "--password-stdin", "--yes"]
        assert main_(argv, env) == 0
        assert "state: rescued" in capsys.readouterr().out
        yield Rescued(env, stand_in.disk(sim.instances[WEB]), stand_in.report)
    finally:
        sim.close()
        stop()


def test_the_repair_preview_prints_the_exact_diff_before_asking_and_changes_nothing(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    shown: list[str] = []

    def ask(question: str) -> str:
        shown.append(capsys.readouterr().out)  # what the person saw when they were asked
        return "no"

    assert main_(REPAIR, rescued.env, ask) == 3
    [before] = shown
    lines = before.splitlines()
    assert lines[0].startswith("PREVIEW: Adds nofail to /etc/fstab line 3")
    assert lines[0].endswith(" On /dev/vdb1 of instance 5203773; files: /etc/fstab.")
    assert [line for line in lines if line.startswith(("  ---", "  +++", "  -", "  +"))] == DIFF_LINES
    assert rescued.unchanged()


def test_a_wrong_id_at_the_terminal_refuses_and_changes_nothing(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_(REPAIR, rescued.env, lambda question: "5203774") == 3
    captured = capsys.readouterr()
    assert "Nothing was sent: the instance id was not typed, so the request was cancelled." in captured.err
    assert "EXECUTED" not in captured.out
    assert rescued.unchanged()


def test_the_typed_id_confirms_the_previewed_fix_and_prints_its_backup(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_(REPAIR, rescued.env, lambda question: str(WEB)) == 0
    out = capsys.readouterr().out
    executed = out[out.index("EXECUTED: ") :].splitlines()
    [backup] = rescued.disk.backups
    assert "files changed: /etc/fstab" in executed
    assert f"backup: {backup}" in executed
    assert backup.startswith("/etc/fstab.zomro-rescue-")
    assert "problem gone: yes" in executed
    assert executed[-1].startswith("next: run `zomro-rescue-mcp diagnose 5203773` if other findings remain")
    assert rescued.disk.boots
    assert RESCUE_PASSWORD not in out


def test_yes_confirms_when_approval_is_not_required_and_says_nobody_typed_the_id(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_([*REPAIR, "--yes", "--json"], rescued.env) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["preview"]["diff"].count("\n-") == 1
    result = document["result"]
    assert (result["kind"], result["executed"], result["problem_gone"]) == ("executed", True, True)
    assert result["backups"] == rescued.disk.backups
    assert result["approved_by"] == "assistant (confirm)"
    assert "Nobody typed the instance id: --yes on the command line stood for the approval." in result["notes"]


def test_yes_is_refused_when_every_change_needs_a_persons_approval(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_([*REPAIR, "--yes"], {**rescued.env, "ZOMRO_REQUIRE_APPROVAL": "1"}) == 3
    assert "--yes cannot stand in for the approval ZOMRO_REQUIRE_APPROVAL asks for" in capsys.readouterr().err
    assert rescued.unchanged()


def test_dry_run_shows_the_preview_asks_nothing_and_changes_nothing(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_([*REPAIR, "--dry-run", "--json"], rescued.env) == 0
    document = json.loads(capsys.readouterr().out)
    assert set(document) == {"kind", "preview"}
    assert (document["kind"], document["preview"]["files"]) == ("preview", ["/etc/fstab"])
    assert document["preview"]["next_step"].startswith("Nothing was changed; to go ahead, run the same command")
    assert rescued.unchanged()


def test_run_previews_the_line_and_where_it_runs_and_the_stand_in_runs_nothing(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "web-1", "--rescue-password-stdin", "--yes", "--", "grep", "-c", "nofail", "/etc/fstab"]
    code = main_(argv, rescued.env)
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == (
        "PREVIEW: Runs `grep -c nofail /etc/fstab` inside instance 5203773's own root (/dev/vdb1), chrooted, once, "
        "stopped after 60 s."
    )
    assert code == 1
    assert "does not emulate" in captured.err
    assert "EXECUTED" not in captured.out
    assert rescued.unchanged()


def test_run_with_dry_run_shows_the_line_outside_the_chroot_and_runs_nothing(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "web-1", "--rescue-password-stdin", "--no-chroot", "--time-limit", "5", "--dry-run", "--", "ls /"]
    assert main_(argv, rescued.env) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "with instance 5203773's root (/dev/vdb1) at /mnt/zomro-root" in lines[0]
    assert "stopped after 5 s" in lines[0]
    assert lines[-1].startswith("next: nothing was changed; to go ahead, run the same command without --dry-run")


# --- bad input: a sentence, exit 2, nothing sent (the instance needs no rescue mode for that) -----------------------


def test_an_unknown_fix_is_a_sentence_listing_the_fixes(
    server_env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_(["repair", "web-1", "fstab.nope", "--yes"], server_env) == 2
    err = capsys.readouterr().err
    assert "There is no fix 'fstab.nope'; the fixes are: " in err
    assert "fstab.add_nofail" in err
    assert sim.mutating_requests() == []


def test_a_command_with_a_line_break_is_refused_before_anything_runs(
    server_env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_(["run", "web-1", "--yes", "--", "true\nreboot"], server_env) == 2
    assert "command must be one line of 1 to 2,000 characters (no line breaks); nothing was run." in (
        capsys.readouterr().err
    )
    assert sim.mutating_requests() == []


@pytest.mark.parametrize("seconds", ["0", "301", "ten"])
def test_a_time_limit_out_of_range_is_a_usage_error(seconds: str, capsys: pytest.CaptureFixture[str]) -> None:
    from zomro_rescue_mcp.cli.parser import build_parser

    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["run", "web-1", "--time-limit", seconds, "--", "true"])
    assert stopped.value.code == 2
    assert f"{seconds!r} is not a whole number from 1 to 300" in capsys.readouterr().err


def test_run_joins_the_words_after_the_double_dash_into_one_line() -> None:
    from zomro_rescue_mcp.cli.parser import build_parser
    from zomro_rescue_mcp.cli.repair_commands import Run, parse_repair_command

    parsed = build_parser().parse_args(["run", "web-1", "--no-chroot", "--", "ls", "-l", "/mnt/zomro-root"])
    assert parse_repair_command(parsed) == Run("web-1", "ls -l /mnt/zomro-root", chroot=False)


def test_no_password_is_taken_from_argv() -> None:
    from zomro_rescue_mcp.cli.parser import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["repair", "web-1", "account.set_root_password", "--password", "Secret-Pass-1"])


def test_a_repair_of_an_instance_not_in_rescue_mode_says_to_enter_first(
    server_env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_([*REPAIR, "--yes"], {**server_env, "ZOMRO_LOG_LEVEL": "WARNING"}) == 3
    [said] = capsys.readouterr().err.splitlines()
    assert said.startswith("zomro-rescue-mcp: Instance 5203773 is active, not in rescue mode")
    assert said.endswith("Nothing was done. Next: run `zomro-rescue-mcp enter 5203773 --image IMAGE`.")
    assert "repair_instance" not in said
    assert sim.mutating_requests() == []


def test_without_a_rescue_password_a_script_is_told_to_give_it_on_stdin(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "web-1", "--yes", "--json", "--", "true"]
    assert main_(argv, rescued.env) == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["kind"] == "invalid.rescue_password"
    assert "give it on stdin with --rescue-password-stdin" in captured.err


def test_with_json_the_person_still_sees_the_diff_they_are_asked_about(
    rescued: Rescued, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main_([*REPAIR, "--json"], rescued.env, lambda question: str(WEB)) == 0
    captured = capsys.readouterr()
    assert f"  -{STALE}" in captured.err.splitlines()
    assert json.loads(captured.out)["result"]["approved_by"] == "person (terminal)"


def test_a_repair_without_its_account_while_several_are_configured_is_refused_before_the_preview(
    tmp_path: Path, api_url: str, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.add_account("staging@example.com", DEMO_PASSWORD)
    config = tmp_path / "config.toml"
    config.write_text(
        "".join(
            f'[accounts.{name}]\napi_url = "{api_url}"\nusername = "{user}"\npassword_env = "PASSWORD"\n'
            for name, user in (("prod", DEMO_USERNAME), ("staging", "staging@example.com"))
        ),
        encoding="utf-8",
    )
    config.chmod(0o600)
    env = {"ZOMRO_CONFIG": str(config), "PASSWORD": DEMO_PASSWORD, "ZOMRO_LOG_LEVEL": "WARNING"}
    assert main_(["repair", str(WEB), "fstab.add_nofail", STALE, "--yes"], env) == 3
    assert "a confirmed change must name its account" in capsys.readouterr().err
    assert sim.requests == []
