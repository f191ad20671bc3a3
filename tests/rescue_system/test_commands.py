"""One confirmed command line (commands.py) without a VM: what is refused before anything is sent, the script that
carries the command, the reading of its report, and a lost answer (against the loopback SSH server)."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import textwrap

import pytest

from zomro_rescue_mcp.rescue_system import (
    CommandOutcomeUnknownError,
    CommandRefusedError,
    HostKeyTrust,
    MissingToolError,
    RescueSession,
    ScriptFailedError,
    SSHTarget,
    run_command,
)
from zomro_rescue_mcp.rescue_system.commands import check_command, command_script, read_run
from zomro_rescue_mcp.rescue_system.report import Report

from .loopback_sshd import loopback_sshd

pytestmark = pytest.mark.anyio
PASSWORD = "Rescue-pass-4711"
TRICKY = """echo "$(id -u)" '$HOME' `uname`; printf '%s\\n' "@@exit 0" | tee /tmp/x && rm -f /tmp/x # ü"""


@pytest.mark.parametrize(
    ("command", "timeout_s", "disk", "words"),
    [
        ("", 10, None, "The command is empty; nothing was run"),
        ("   ", 10, None, "The command is empty; nothing was run"),
        ("x" * 2001, 10, None, "The command has 2001 characters, more than 2000; nothing was run"),
        ("echo a\necho b", 10, None, "holds a line break or a NUL character; nothing was run"),
        ("echo a\recho b", 10, None, "holds a line break or a NUL character; nothing was run"),
        ("echo a\0", 10, None, "holds a line break or a NUL character; nothing was run"),
        ("true", 0, None, "The time limit 0 is not a whole number of seconds from 1 to 300; nothing was run"),
        ("true", 301, None, "The time limit 301 is not a whole number of seconds from 1 to 300; nothing was run"),
        ("true", True, None, "The time limit True is not a whole number of seconds from 1 to 300"),
        ("true", 2.5, None, "The time limit 2.5 is not a whole number of seconds from 1 to 300"),
        ("true", 10, "vdb; reboot", "'vdb; reboot' is not a device path such as /dev/vdb; nothing was run"),
    ],
)
def test_a_command_that_is_not_one_acceptable_line_is_refused_with_a_sentence(
    command: str, timeout_s: int, disk: str | None, words: str
) -> None:
    with pytest.raises(CommandRefusedError) as refused:
        check_command(command, timeout_s, disk)
    assert words in str(refused.value)
    assert str(refused.value).endswith(".")
    assert refused.value.kind == "rescue.command_refused"


@pytest.mark.parametrize(("command", "timeout_s"), [("x" * 2000, 1), ("t", 300), (TRICKY, 60)])
def test_the_bounds_themselves_are_accepted(command: str, timeout_s: int) -> None:
    check_command(command, timeout_s, "/dev/vdb")


async def test_a_refused_command_sends_nothing() -> None:
    async with loopback_sshd(PASSWORD) as server:
        target = SSHTarget(server.host, server.port, password=PASSWORD, session=RescueSession.begin("default", 7))
        with pytest.raises(CommandRefusedError):
            await run_command(target, HostKeyTrust(), "echo a\nreboot", chroot=True, timeout_s=10)
    assert (server.commands, server.logins) == ([], [])


def _values(script: str) -> dict[str, str]:
    return dict(re.findall(r"^(ZR_X_[A-Z0-9_]+)=(.*)$", script, re.MULTILINE))


def test_the_command_travels_in_base64_with_its_sha256_and_never_as_script_text() -> None:
    script = command_script(TRICKY, chroot=True, timeout_s=42, disk="/dev/vdb")
    values = _values(script)
    data = TRICKY.encode()
    assert values == {
        "ZR_X_CMD_B64": base64.b64encode(data).decode(),
        "ZR_X_CMD_SHA": hashlib.sha256(data).hexdigest(),
        "ZR_X_CHROOT": "1",
        "ZR_X_TIMEOUT": "42",
    }
    assert "id -u" not in script
    assert "uname" not in script
    assert "\nZR_DEV=/dev/vdb\n" in script
    assert script.rstrip().endswith("exit 0")  # repair_run.sh comes last


def test_without_chroot_the_script_says_so() -> None:
    assert _values(command_script("ls", chroot=False, timeout_s=5))["ZR_X_CHROOT"] == "0"


def test_the_script_parses_as_posix_sh() -> None:
    script = command_script(TRICKY, chroot=False, timeout_s=5)
    assert subprocess.run(["/bin/sh", "-n"], input=script, text=True, check=False).returncode == 0


def _report(*sections: str, output: bytes = b"", dropped: int = 0, rc: int = 0) -> Report:
    body = "".join(f"|{line}\n" for line in textwrap.wrap(base64.b64encode(output).decode(), 76))
    head = "@@inuse /dev/vda\n@@roots /dev/vdb1\n@@root /dev/vdb1\n@@stage run\n@@stage report\n"
    text = head + f"@@exit {rc}\n" + "".join(sections) + f"@@output {len(output)} {dropped}\n{body}@@end\n@@done\n"
    return Report.parse(text)


def test_a_report_gives_the_output_the_exit_code_and_where_it_ran() -> None:
    run = read_run(_report(output=b"hello\nw\xc3\xb6rld\n", rc=3), command="c", chroot=True, exit_status=0, stderr="")
    assert (run.output, run.exit_code, run.truncated, run.timed_out) == ("hello\nwörld\n", 3, False, False)
    assert (run.device, run.root_path, run.chroot, run.left_mounted) == ("/dev/vdb1", "/", True, [])
    assert read_run(_report(), command="c", chroot=False, exit_status=0, stderr="").root_path == "/mnt/zomro-root"


def test_output_past_16_kib_is_cut_to_exactly_16384_bytes_and_flagged() -> None:
    run = read_run(_report(output=b"a" * 16385, dropped=23615), command="c", chroot=False, exit_status=0, stderr="")
    assert (run.output, run.truncated) == ("a" * 16384, True)


def test_output_of_exactly_16_kib_is_whole() -> None:
    run = read_run(_report(output=b"b" * 16384), command="c", chroot=False, exit_status=0, stderr="")
    assert (len(run.output), run.truncated) == (16384, False)


def test_bytes_that_are_not_utf8_are_replaced() -> None:
    run = read_run(_report(output=b"ok \xff\xfe\n"), command="c", chroot=False, exit_status=0, stderr="")
    assert run.output == "ok \ufffd\ufffd\n"


def test_a_timed_out_command_has_no_exit_code_and_keeps_its_output_so_far() -> None:
    run = read_run(
        _report("@@timed_out 2\n", output=b"before\n", rc=124), command="c", chroot=True, exit_status=0, stderr=""
    )
    assert (run.timed_out, run.exit_code, run.output) == (True, None, "before\n")


def test_an_exit_status_124_without_the_limit_is_the_commands_own() -> None:
    run = read_run(_report(rc=124), command="c", chroot=True, exit_status=0, stderr="")
    assert (run.timed_out, run.exit_code) == (False, 124)


def test_what_stayed_mounted_is_reported() -> None:
    report = Report.parse(
        "@@root /dev/vdb1\n@@stage run\n@@exit 0\n@@output 0 0\n@@end\n@@left_mounted\n|/mnt/zomro-root\n@@done\n"
    )
    run = read_run(report, command="c", chroot=True, exit_status=0, stderr="")
    assert run.left_mounted == ["/mnt/zomro-root"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("@@no_root\n@@done\n", "No Linux root was found on the instance's disks; nothing was run."),
        ("@@roots /dev/vdb1 /dev/vdc1\n@@root /dev/vdb1\n@@done\n", "Several Linux roots were found (/dev/vdb1, "),
        ("@@root /dev/vdb1\n@@no_shell\n@@done\n", "has no /bin/sh to run the command in a chroot; nothing was run"),
        ("@@root /dev/vdb1\n@@no_mountpoint /proc\n@@done\n", "has no folder /proc (or it is a link)"),
        ("@@root /dev/vdb1\n@@busy /mnt/zomro-root\n@@done\n", "/mnt/zomro-root is already in use"),
    ],
)
def test_where_there_is_nowhere_to_run_it_nothing_runs(text: str, words: str) -> None:
    with pytest.raises(CommandRefusedError) as refused:
        read_run(Report.parse(text), command="c", chroot=True, exit_status=0, stderr="")
    assert words in str(refused.value)
    assert "nothing was run" in str(refused.value)


def test_a_missing_tool_is_named() -> None:
    with pytest.raises(MissingToolError) as missing:
        read_run(Report.parse("@@missing mkfifo\n@@done\n"), command="c", chroot=True, exit_status=3, stderr="")
    assert missing.value.tool == "mkfifo"
    assert "nothing was run" in str(missing.value)


def test_a_report_that_stops_before_the_command_says_nothing_ran() -> None:
    report = Report.parse("@@root /dev/vdb1\n@@failed mount-proc\n@@done\n")
    with pytest.raises(ScriptFailedError, match=r"Preparing the command stopped \(mount-proc: busy\); nothing was run"):
        read_run(report, command="c", chroot=True, exit_status=5, stderr="busy\n")


def test_a_report_cut_after_the_command_started_says_it_may_have_run() -> None:
    report = Report.parse("@@root /dev/vdb1\n@@stage run\n")
    with pytest.raises(ScriptFailedError, match="it may have run, and it is not run again"):
        read_run(report, command="c", chroot=True, exit_status=143, stderr="")


async def test_a_command_whose_answer_was_lost_is_never_run_again() -> None:
    async with loopback_sshd(PASSWORD) as server:
        target = SSHTarget(server.host, server.port, password=PASSWORD, session=RescueSession.begin("default", 7))
        server.drop_next = 1
        with pytest.raises(CommandOutcomeUnknownError, match="not run again"):
            await run_command(target, HostKeyTrust(), "touch /tmp/x", chroot=False, timeout_s=10)
    assert len(server.commands) == 1
