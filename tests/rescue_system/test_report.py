"""The diagnosis script's report and its reading, without a VM: the framing, the script's parameters, and a report
the rescue VM wrote (reports/healthy.txt) read into disks, a root and no findings."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from zomro_rescue_mcp import rescue_system
from zomro_rescue_mcp.rescue_system.diagnosis import read_report
from zomro_rescue_mcp.rescue_system.report import Report
from zomro_rescue_mcp.rescue_system.script import STAGES, diagnosis_script

HEALTHY = (Path(__file__).parent / "reports" / "healthy.txt").read_text(encoding="utf-8")


def test_the_public_surface_is_pinned_and_every_name_resolves() -> None:
    assert sorted(rescue_system.__all__) == sorted(
        [
            "FINDING_KINDS",
            "FIXES",
            "STAGES",
            "CommandOutcomeUnknownError",
            "CommandRefusedError",
            "CommandResult",
            "CommandRun",
            "ConnectionLostError",
            "Diagnosis",
            "Disk",
            "Finding",
            "FindingKind",
            "HostKey",
            "HostKeyChangedError",
            "HostKeyTrust",
            "Limits",
            "LoginRefusedError",
            "MissingToolError",
            "Progress",
            "ProgressCallback",
            "RemoteTimeoutError",
            "Report",
            "RescueConnection",
            "RescueSession",
            "RescueSystemError",
            "RootSystem",
            "SSHTarget",
            "ScriptFailedError",
            "Severity",
            "TrustDecision",
            "UnreachableError",
            "connect",
            "diagnose",
            "locate_root",
            "read_report",
            "run_command",
        ]
    )
    for name in rescue_system.__all__:
        assert getattr(rescue_system, name) is not None


def test_a_body_line_never_poses_as_a_header() -> None:
    report = Report.parse("@@fstab\n|@@root_account\n|password set\n@@root_account\n|password locked\n")
    assert [s.name for s in report] == ["fstab", "root_account"]
    assert report.first("fstab").lines == ("@@root_account", "password set")  # type: ignore[union-attr]
    assert report.first("root_account").lines == ("password locked",)  # type: ignore[union-attr]


def test_lines_that_are_neither_header_nor_body_are_dropped() -> None:
    report = Report.parse("noise before\n@@usage /dev/vdb1\n|blocks 10 9 1\nstray line\n|inodes 10 1 9\n")
    assert report.first("usage").lines == ("blocks 10 9 1", "inodes 10 1 9")  # type: ignore[union-attr]


def test_the_script_takes_only_a_device_path_as_its_disk() -> None:
    assert "ZR_ONLY=/dev/vdc\n" in diagnosis_script(fsck_timeout_s=5, only="/dev/vdc")
    for bad in ("/dev/vdb; reboot", "vdb", "/dev/$(id)", "/dev/vd b"):
        with pytest.raises(ValueError, match="not a device path"):
            diagnosis_script(fsck_timeout_s=5, only=bad)
    with pytest.raises(ValueError, match="not a stage"):
        diagnosis_script(fsck_timeout_s=5, hold_at="nowhere")


@pytest.mark.parametrize("shell", ["dash", "bash", "busybox"])
def test_the_script_is_valid_posix_sh(shell: str, tmp_path: Path) -> None:
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed here")
    script = tmp_path / "diagnose.sh"
    script.write_text(diagnosis_script(fsck_timeout_s=5, only="/dev/vdb", hold_at="ssh"), encoding="utf-8")
    command = [program, "sh", "-n", str(script)] if shell == "busybox" else [program, "-n", str(script)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")


def test_every_stage_the_script_announces_is_known() -> None:
    script = diagnosis_script(fsck_timeout_s=5)
    announced = [line.split()[1] for line in script.splitlines() if line.strip().startswith("zr_stage ")]
    assert announced
    assert set(announced) <= set(STAGES)


def test_a_healthy_report_reads_as_its_disks_a_root_and_no_finding() -> None:
    disks, root, findings, notes = read_report(Report.parse(HEALTHY))
    assert findings == []
    assert root is not None
    assert (root.device, root.fstype, root.os_name, root.os_version) == ("/dev/vdb1", "ext4", "Debian GNU/Linux", "12")
    assert root.kernels == ["6.1.0-99-cloud-amd64"]
    roles = {disk.device: disk.role for disk in disks}
    assert roles == {"/dev/vda": "rescue", "/dev/vda1": "rescue", "/dev/vdb": "instance", "/dev/vdb1": "instance"}
    assert notes == ["No journal or syslog of the last boot was found on the instance's root."]


def test_a_report_without_its_cleanup_says_so() -> None:
    cut = HEALTHY[: HEALTHY.index("@@stage cleanup")]
    _, _, _, notes = read_report(Report.parse(cut))
    assert any("did not report its cleanup" in note for note in notes)


def test_something_left_mounted_is_a_note() -> None:
    _, _, _, notes = read_report(Report.parse(HEALTHY + "@@left_mounted\n|/tmp/zomro-rescue.x/m1\n"))
    assert any("Left mounted" in note and "zomro-rescue.x/m1" in note for note in notes)
