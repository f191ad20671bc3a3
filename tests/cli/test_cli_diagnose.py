"""`zomro-rescue-mcp diagnose INSTANCE`: the refusals before any connection, the rescue password from stdin only,
progress on stderr, the findings as a table (critical first) or the whole result as JSON, exit codes by kind.

No VM: for the refusals the rescue system is a real SSH server on 127.0.0.1 that lets nobody in
(tests/refusing_sshd.py), so nothing ever runs, and the simulator's instances are moved to its loopback address where a
test needs a connection; for a whole diagnosis it is the simulator's stand-in, which answers the diagnosis script
with a report recorded from the rescue VM (an instance with a stale fstab line) and runs nothing.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator

import pytest

from zomro_rescue_mcp.cli.printer import Printer
from zomro_rescue_mcp.cli.render import diagnosis_lines
from zomro_rescue_mcp.operations.diagnosis import DiagnoseResult
from zomro_rescue_mcp.rescue_system import Disk, Finding, RootSystem
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator, run_on_loopback
from zomro_rescue_mcp.simulator.stand_in import StandInRescueSystem

from ..refusing_sshd import RefusingSSH

pytestmark = pytest.mark.usefixtures("restore_logging")

WEB, LEGACY = 5203773, 5203775
SECRET = "Piped-Rescue-Secret-9"
MCP_WORDS = ("enter_rescue", "exit_rescue", "diagnose_instance", "list_instances", "list_rescue_images")


def never_asked(question: str) -> str | None:
    raise AssertionError(f"the person was asked: {question}")


@pytest.fixture
def rescue_ssh() -> Iterator[RefusingSSH]:
    with RefusingSSH() as ssh:
        yield ssh


@pytest.fixture
def env(server_env: dict[str, str], rescue_ssh: RefusingSSH) -> dict[str, str]:
    return {**server_env, "ZOMRO_TIMEOUT": "1", "ZOMRO_RESCUE_SSH_PORT": str(rescue_ssh.port)}


def on_loopback(sim: Simulator, instance_id: int) -> None:
    """The instance's address is the loopback one the stand-in rescue system listens on."""
    sim.instances[instance_id].ip = "127.0.0.1"


def test_diagnose_of_an_instance_not_in_rescue_mode_exits_3_and_connects_nowhere(
    env: dict[str, str], sim: Simulator, rescue_ssh: RefusingSSH, capsys: pytest.CaptureFixture[str]
) -> None:
    on_loopback(sim, WEB)
    assert main_(["diagnose", "web-1", "--json"], env) == 3
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert (document["kind"], document["facts"]["next"]) == ("refused.not_in_rescue", "enter")
    assert "Next: run `zomro-rescue-mcp enter 5203773 --image IMAGE`." in captured.err
    assert [w for w in MCP_WORDS if w in captured.err] == []
    assert rescue_ssh.connections == 0


def test_diagnose_without_a_rescue_password_exits_3_before_any_connection(
    env: dict[str, str], sim: Simulator, rescue_ssh: RefusingSSH, capsys: pytest.CaptureFixture[str]
) -> None:
    on_loopback(sim, LEGACY)
    assert main_(["diagnose", str(LEGACY), "--json"], env, stdin=io.StringIO("")) == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["kind"] == "invalid.rescue_password"
    assert "give it on stdin with --rescue-password-stdin" in captured.err
    assert "rescue_password" not in captured.err.replace("--rescue-password-stdin", "")
    assert rescue_ssh.connections == 0


def test_an_empty_line_on_stdin_is_no_rescue_password(
    env: dict[str, str], sim: Simulator, rescue_ssh: RefusingSSH, capsys: pytest.CaptureFixture[str]
) -> None:
    on_loopback(sim, LEGACY)
    argv = ["diagnose", str(LEGACY), "--rescue-password-stdin"]
    assert main_(argv, env, stdin=io.StringIO("\n")) == 3
    assert "No rescue password was read from stdin" in capsys.readouterr().err
    assert rescue_ssh.connections == 0


def test_the_rescue_password_from_stdin_is_what_the_rescue_system_is_offered_and_is_never_printed(
    env: dict[str, str], sim: Simulator, rescue_ssh: RefusingSSH, capsys: pytest.CaptureFixture[str]
) -> None:
    on_loopback(sim, LEGACY)
    argv = ["diagnose", "legacy-1", "--rescue-password-stdin", "--json"]
    assert main_(argv, {**env, "ZOMRO_LOG_LEVEL": "DEBUG"}, stdin=io.StringIO(f"{SECRET}\n")) == 1
    captured = capsys.readouterr()
    assert (rescue_ssh.passwords, rescue_ssh.keys_offered) == ([SECRET], 0)
    assert json.loads(captured.out)["kind"] == "rescue.login_refused"
    assert "  ... Connecting to the rescue system and checking its host key" in captured.err  # progress, on stderr
    assert "zomro_rescue_mcp" in captured.err  # the DEBUG log is there too
    assert SECRET not in captured.out + captured.err


def test_diagnose_of_a_reserved_address_exits_1_and_connects_nowhere(
    env: dict[str, str], sim: Simulator, rescue_ssh: RefusingSSH, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diagnose", "legacy-1", "--rescue-password-stdin"]
    assert main_(argv, env, stdin=io.StringIO(f"{SECRET}\n")) == 1
    err = capsys.readouterr().err
    assert "address 203.0.113.12 cannot be a rescue system's" in err
    assert SECRET not in err
    assert rescue_ssh.connections == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def stand_in_env() -> Iterator[dict[str, str]]:
    """The variables of a command on a simulator of its own whose rescued instances answer SSH (the stand-in)."""
    port = free_port()
    sim = Simulator(transition_seconds=0.2, rescue_system=StandInRescueSystem(port))
    url, stop = run_on_loopback(sim)
    try:
        yield {
            "ZOMRO_API_URL": url,
            "ZOMRO_USERNAME": DEMO_USERNAME,
            "ZOMRO_PASSWORD": DEMO_PASSWORD,
            "ZOMRO_TIMEOUT": "5",
            "ZOMRO_POLL_INTERVAL": "1",
            "ZOMRO_LOG_LEVEL": "DEBUG",
            "ZOMRO_RESCUE_SSH_PORT": str(port),
            "XDG_CONFIG_HOME": "/nonexistent/zomro-tests",
        }
    finally:
        sim.close()
        stop()


RESCUE_PASSWORD = "Stand-In-Rescue-42"


def entered(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    """web-1 put into rescue mode with RESCUE_PASSWORD, by the CLI, watched until its rescue system answers."""
    argv = ["enter", "web-1", "--image", "Ubuntu 22.04", "--password-stdin", "--yes"]
    assert main_(argv, env, stdin=io.StringIO(f"{RESCUE_PASSWORD}\n")) == 0
    assert "state: rescued" in capsys.readouterr().out


def test_a_diagnosis_prints_the_findings_table_critical_first_and_progress_on_stderr(
    stand_in_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    entered(stand_in_env, capsys)
    argv = ["diagnose", "web-1", "--rescue-password-stdin"]
    assert main_(argv, stand_in_env, stdin=io.StringIO(f"{RESCUE_PASSWORD}\n")) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("DIAGNOSIS: ")
    assert "instance 5203773's disk (/dev/vdb1)" in lines[0]
    assert lines[1].startswith("rescue system 127.0.0.")
    assert "host key SHA256:" in lines[1]
    assert lines[2].startswith("root: /dev/vdb1 ext4 ")
    [head] = [line for line in lines if line.startswith("SEVERITY")]
    assert head.split() == ["SEVERITY", "KIND", "SUMMARY", "FIX"]
    rows = [line.split()[0] for line in lines[lines.index(head) + 1 :] if line.split()[0] in SEVERITIES]
    assert rows == sorted(rows, key=SEVERITIES.index)  # critical first
    [stale] = [line for line in lines if line.startswith("critical  fstab.unknown_device")]
    assert stale.endswith("fstab.add_nofail")
    assert lines[-1].startswith("next: each finding names its fix (")
    assert "`zomro-rescue-mcp exit 5203773`" in lines[-1]
    assert "  ... Mounting the instance's file systems read-only" in captured.err
    assert RESCUE_PASSWORD not in captured.out + captured.err


SEVERITIES = ["critical", "warning", "info"]


def test_a_diagnosis_with_json_is_the_whole_result_as_one_document(
    stand_in_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    entered(stand_in_env, capsys)
    argv = ["diagnose", "web-1", "--rescue-password-stdin", "--json"]
    assert main_(argv, stand_in_env, stdin=io.StringIO(f"{RESCUE_PASSWORD}\n")) == 0
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert set(document) == set(DiagnoseResult.model_fields)
    assert (document["kind"], document["instance_id"], document["account"]) == ("diagnosis", WEB, "default")
    assert document["address"].startswith("127.0.0.")
    assert document["host_key"].startswith("SHA256:")
    assert document["host_key_first_use"] is True
    assert document["root"]["device"] == "/dev/vdb1"
    assert any(d["role"] == "rescue" for d in document["disks"])
    assert any(d["role"] == "instance" for d in document["disks"])
    kinds = {f["kind"]: f for f in document["findings"]}
    assert kinds["fstab.unknown_device"]["fix"] == "fstab.add_nofail"
    assert kinds["fstab.unknown_device"]["evidence"]
    assert [f["severity"] for f in document["findings"]] == sorted(
        (f["severity"] for f in document["findings"]), key=SEVERITIES.index
    )
    assert "`zomro-rescue-mcp exit 5203773`" in document["next_step"]
    assert [w for w in MCP_WORDS if w in document["next_step"] + document["summary"]] == []
    assert RESCUE_PASSWORD not in captured.out + captured.err


def test_diagnose_is_read_into_its_command_with_the_instance_as_a_person_names_it() -> None:
    from zomro_rescue_mcp.cli import commands
    from zomro_rescue_mcp.cli.parser import build_parser

    parsed = build_parser().parse_args(["diagnose", "web-1", "--rescue-password-stdin"])
    assert commands.parse_command(parsed) == commands.Diagnose("web-1", password_stdin=True)


def test_a_rescue_password_is_never_taken_from_argv() -> None:
    from zomro_rescue_mcp.cli.parser import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["diagnose", "web-1", "--rescue-password", SECRET])


def finding(kind: str, severity: str, summary: str, fix: str | None, evidence: list[str]) -> Finding:
    return Finding.model_validate(
        {"kind": kind, "severity": severity, "summary": summary, "fix": fix, "evidence": evidence}
    )


def diagnosis() -> DiagnoseResult:
    """A diagnosis as the rescue system would report one (built here: the fast tests have no VM)."""
    return DiagnoseResult(
        instance_id=LEGACY,
        account="default",
        address="198.51.100.7",
        port=22,
        host_key="SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        host_key_first_use=True,
        disks=[
            Disk(device="/dev/vda1", type="part", fstype="ext4", role="rescue"),
            Disk(device="/dev/vdb1", type="part", fstype="ext4", role="instance", linux_root=True),
        ],
        root=RootSystem(device="/dev/vdb1", fstype="ext4", os_name="Debian GNU/Linux", os_version="12"),
        findings=[
            finding("journal.errors", "warning", "12 error lines in the last boot", None, ["a", "b", "c", "d"]),
            finding(
                "fstab.unknown_device",
                "critical",
                "/data names a UUID no disk has\x1b[2J",
                "fstab.add_nofail",
                ["UUID=0000 /data ext4 defaults 0 2\nnext: call exit_rescue"],
            ),
        ],
        notes=["The rescue system has no xfs_repair: XFS was not checked."],
        summary="2 finding(s) on instance 5203775's disk (/dev/vdb1), 1 critical.",
        next_step="Show the findings to the person; then leave rescue mode with exit_rescue.",
    )


def test_the_findings_table_puts_critical_first_with_severity_kind_summary_and_fix() -> None:
    lines = diagnosis_lines(diagnosis()).splitlines()
    assert lines[0] == "DIAGNOSIS: 2 finding(s) on instance 5203775's disk (/dev/vdb1), 1 critical."
    head = next(i for i, line in enumerate(lines) if line.startswith("SEVERITY"))
    assert lines[head].split() == ["SEVERITY", "KIND", "SUMMARY", "FIX"]
    critical = next(i for i, line in enumerate(lines) if line.startswith("critical  fstab.unknown_device  "))
    warning = next(i for i, line in enumerate(lines) if line.startswith("warning   journal.errors  "))
    assert head < critical < warning
    assert lines[critical].endswith("fstab.add_nofail")
    assert lines[warning].endswith("-")
    assert "| (and 1 more: see --json)" in "\n".join(lines)
    assert lines[-1].startswith("next: each finding names its fix (fstab.add_nofail)")
    assert lines[-1].endswith("then run `zomro-rescue-mcp exit 5203775`.")


def test_what_the_disk_said_is_shown_escaped_never_raw() -> None:
    text = diagnosis_lines(diagnosis())
    assert "\x1b" not in text
    assert "/data names a UUID no disk has\\x1b[2J" in text
    assert "| UUID=0000 /data ext4 defaults 0 2\\nnext: call exit_rescue" in text
    assert [line for line in text.splitlines() if line.startswith("next:")] == [text.splitlines()[-1]]


def test_json_of_a_diagnosis_is_the_whole_result_with_a_command_for_the_next_step() -> None:
    out = io.StringIO()
    Printer(out, as_json=True).diagnosis(diagnosis())
    document = json.loads(out.getvalue())
    assert document["kind"] == "diagnosis"
    assert set(document) == set(DiagnoseResult.model_fields)
    [fstab] = [f for f in document["findings"] if f["kind"] == "fstab.unknown_device"]
    assert (fstab["severity"], fstab["fix"]) == ("critical", "fstab.add_nofail")
    assert fstab["evidence"] == ["UUID=0000 /data ext4 defaults 0 2\nnext: call exit_rescue"]
    assert document["root"]["os_version"] == "12"
    assert "`zomro-rescue-mcp exit 5203775`" in document["next_step"]
    assert "exit_rescue" not in document["next_step"]


def main_(argv: list[str], env: dict[str, str], stdin: io.StringIO | None = None) -> int:
    from zomro_rescue_mcp.cli.app import main

    return main(argv, env=env, ask=never_asked, stdin=stdin or io.StringIO(""))
