"""disk.vacuum_journal, fs.repair and boot.rebuild_initramfs without a VM: the checked targets, the values their
scripts get, the refusals read from a report, the verdicts, and a lost answer never run again (loopback SSH)."""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources
from pathlib import Path

import pytest

from zomro_rescue_mcp.rescue_system import (
    CommandOutcomeUnknownError,
    HostKeyTrust,
    RescueSession,
    SSHTarget,
    initramfs_fix,
    system_fixes,
)
from zomro_rescue_mcp.rescue_system.limits import Limits
from zomro_rescue_mcp.rescue_system.repair_remote import RepairRefusedError, repair_script
from zomro_rescue_mcp.rescue_system.repairs import REPAIRS, RepairPlan, apply_repair
from zomro_rescue_mcp.rescue_system.report import Report

from .loopback_sshd import loopback_sshd

pytestmark = pytest.mark.anyio
TARGET = SSHTarget("127.0.0.1", 22, password="Rescue-unit-1", session=RescueSession.begin("default", 1))
MODES = ("plan_journal", "vacuum", "plan_fsck", "offline_fsck", "plan_initramfs", "initramfs")
Scripts = list[tuple[str, bool, float]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def answering(monkeypatch: pytest.MonkeyPatch, report: str) -> Scripts:
    """The fixes' run_script replaced by one that answers `report` and records each script it was given."""
    sent: Scripts = []

    async def run(target: SSHTarget, trust: HostKeyTrust, script: str, limits: Limits, *, read_only: bool):  # type: ignore[no-untyped-def]
        sent.append((script, read_only, limits.command_timeout_s))
        return Report.parse(report), 1

    monkeypatch.setattr(system_fixes, "run_script", run)
    monkeypatch.setattr(initramfs_fix, "run_script", run)
    return sent


async def plan(fix: str, target_arg: str | None = None) -> RepairPlan:
    return await REPAIRS[fix].plan(TARGET, HostKeyTrust(), target_arg, Limits(), None)


def test_the_three_fixes_are_registered() -> None:
    assert {"disk.vacuum_journal", "fs.repair", "boot.rebuild_initramfs"} <= set(REPAIRS)


@pytest.mark.parametrize(
    ("given", "size", "kib"), [(None, "200M", 204800), ("1G", "1G", 1048576), (" 64K ", "64K", 64)]
)
def test_the_vacuum_size_is_read_as_journalctl_reads_it(given: str | None, size: str, kib: int) -> None:
    assert system_fixes.vacuum_size(given) == (size, kib)


@pytest.mark.parametrize("given", ["200", "200MB", "0M", "1T", "-1G", "200M --rotate", "1.5G", "2000000M"])
def test_a_size_that_is_not_one_is_refused_with_a_sentence(given: str) -> None:
    with pytest.raises(
        RepairRefusedError, match=r"is not a journal size; give a whole number .*Nothing was changed\.$"
    ):
        system_fixes.vacuum_size(given)


@pytest.mark.parametrize("shell", ["dash", "bash", "busybox"])
@pytest.mark.parametrize("mode", MODES)
def test_each_mode_script_is_valid_posix_sh(mode: str, shell: str, tmp_path: Path) -> None:
    program = shutil.which(shell)
    if program is None:
        pytest.skip(f"{shell} is not installed here")
    script = tmp_path / "repair.sh"
    extra = {"SIZE": "200M", "TOOL": "rescue", "DEVICE": "/dev/vdb1", "BUILDER": "dracut", "FILES": "initrd.img-6"}
    script.write_text(repair_script(mode, device="/dev/vdb1", file="", stamp="20260101T000000Z", extra=extra))
    command = [program, "sh", "-n", str(script)] if shell == "busybox" else [program, "-n", str(script)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")


def test_the_read_only_modes_are_named_plan() -> None:
    # repair.sh mounts the root read-only for modes named plan… (and offline…, which unmount it before acting)
    package = resources.files("zomro_rescue_mcp.rescue_system")
    assert all(package.joinpath(f"repair_{mode}.sh").is_file() for mode in MODES)
    assert [m for m in MODES if m.startswith(("plan", "offline"))] == [
        "plan_journal",
        "plan_fsck",
        "offline_fsck",
        "plan_initramfs",
    ]


USAGE = "@@usage /dev/vdb1\n|blocks 1000 990 10\n"
ROOT = "@@roots /dev/vdb1\n@@root /dev/vdb1\n"


async def test_the_vacuum_plan_shows_the_command_and_sends_the_size(monkeypatch: pytest.MonkeyPatch) -> None:
    sent = answering(
        monkeypatch, ROOT + "@@journal present 512000 40 500000\n@@journalctl rescue\n" + USAGE + "@@end\n"
    )
    planned = await plan("disk.vacuum_journal", "100M")
    assert planned.commands == ["journalctl --directory ROOT/var/log/journal --vacuum-size=100M"]
    assert planned.extra == {"SIZE": "100M", "TOOL": "rescue"}
    assert "(now 500.0 MiB, of which 40 archived files take 488.3 MiB)" in planned.summary
    assert sent[0][1] is True
    assert "ZR_MODE=plan_journal\n" in sent[0][0]


async def test_without_the_rescue_systems_journalctl_the_instances_runs_in_a_chroot(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(monkeypatch, ROOT + "@@journal present 512000 4 500000\n@@journalctl instance\n@@end\n")
    planned = await plan("disk.vacuum_journal")
    assert "chroot ROOT /usr/bin/journalctl --directory /var/log/journal --vacuum-size=200M" in planned.commands
    assert planned.extra["TOOL"] == "instance"


@pytest.mark.parametrize(
    ("journal", "words"),
    [
        ("@@journal absent\n@@journalctl rescue\n", "The instance has no persistent journal"),
        ("@@journal present 1024 3 900\n@@journalctl rescue\n", "takes 1.0 MiB, no more than 200M already"),
        ("@@journal present 409600 0 0\n@@journalctl rescue\n", "holds only active files"),
        ("@@journal present 409600 3 400000\n@@journalctl absent\n", "Neither the rescue system nor the instance"),
    ],
)
async def test_a_vacuum_that_does_not_apply_is_refused(
    monkeypatch: pytest.MonkeyPatch, journal: str, words: str
) -> None:
    answering(monkeypatch, ROOT + journal + "@@end\n")
    with pytest.raises(RepairRefusedError, match=words) as refused:
        await plan("disk.vacuum_journal")
    assert str(refused.value).endswith(".")


async def test_the_vacuum_verdict_reads_the_roots_usage_after(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, ROOT + "@@journal present 512000 40 500000\n@@journalctl rescue\n@@end\n")
    planned = await plan("disk.vacuum_journal")
    answering(
        monkeypatch, ROOT + "@@vacuum_status 0\n|Vacuuming done\n@@journal present 2048 0 0\n" + USAGE + "@@end\n"
    )
    still_full = await apply_repair(TARGET, HostKeyTrust(), planned)
    assert not still_full.problem_gone
    assert [f.kind for f in still_full.remaining] == ["disk.full"]
    answering(monkeypatch, ROOT + "@@vacuum_status 0\n@@usage /dev/vdb1\n|blocks 1000 500 500\n@@end\n")
    freed = await apply_repair(TARGET, HostKeyTrust(), planned)
    assert freed.problem_gone, freed.verdict
    assert freed.backups == []


@pytest.mark.parametrize("given", ["vdb1", "/dev/vdb1;reboot", "/dev/vdb1 /dev/vdc1", "../dev/vdb1"])
async def test_a_device_that_is_not_a_path_is_refused_before_anything_is_sent(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    sent = answering(monkeypatch, ROOT + "@@end\n")
    with pytest.raises(RepairRefusedError, match=r"is not a device path; .*Nothing was changed\.$"):
        await plan("fs.repair", given)
    assert sent == []


async def test_the_fs_repair_plan_runs_the_check_with_a_long_time_limit_and_shows_the_commands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = answering(
        monkeypatch, ROOT + "@@fs /dev/vdc1 ext4\n@@check /dev/vdc1 e2fsck 4\n|Inode 12 ref count is 7\n@@end\n"
    )
    planned = await plan("fs.repair", "/dev/vdc1")
    assert planned.commands == ["umount ROOT", "e2fsck -f -y /dev/vdc1", "e2fsck -n -f /dev/vdc1"]
    assert planned.extra == {"DEVICE": "/dev/vdc1"}
    script, read_only, timeout = sent[0]
    assert (read_only, timeout) == (True, system_fixes.FSCK_TIMEOUT_S)
    assert "ZR_X_DEVICE=/dev/vdc1\n" in script
    assert "ZR_MODE=plan_fsck\n" in script


@pytest.mark.parametrize(
    ("report", "words"),
    [
        ("@@fs_refused /dev/vdb1 mounted\n", "/dev/vdb1 is mounted in the rescue system; nothing was changed."),
        ("@@fs_refused /dev/vda1 inuse\n", "/dev/vda1 is on a disk the rescue system itself uses"),
        ("@@fs_refused /dev/vdb2 type\n", "/dev/vdb2 holds no ext2, ext3, ext4 or XFS file system"),
        ("@@check /dev/vdb1 e2fsck 0\n", "e2fsck -n finds no errors on /dev/vdb1; nothing to repair."),
        (
            "@@check /dev/vdb1 xfs_repair 2\n|ERROR: The filesystem has valuable metadata changes in a log\n",
            "never runs xfs_repair -L",
        ),
        (
            "@@check /dev/vdb1 e2fsck 8\n|e2fsck: Bad magic number\n",
            "could not check /dev/vdb1 (exit status 8: e2fsck: Bad magic",
        ),
    ],
)
async def test_an_fs_repair_that_does_not_apply_is_refused(
    monkeypatch: pytest.MonkeyPatch, report: str, words: str
) -> None:
    answering(monkeypatch, ROOT + report + "@@end\n")
    with pytest.raises(RepairRefusedError) as refused:
        await plan("fs.repair")
    assert words in str(refused.value)
    assert str(refused.value).endswith(".")


async def test_the_fs_repair_outcome_has_the_exit_status_the_last_lines_and_the_check_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(monkeypatch, ROOT + "@@check /dev/vdb1 xfs_repair 1\n@@end\n")
    planned = await plan("fs.repair")
    tail = "".join(f"|line {n}\n" for n in range(30))
    sent = answering(
        monkeypatch, ROOT + f"@@repair /dev/vdb1 xfs_repair 0\n{tail}@@check /dev/vdb1 xfs_repair 0\n@@end\n"
    )
    outcome = await apply_repair(TARGET, HostKeyTrust(), planned)
    assert outcome.problem_gone
    assert outcome.output == [f"line {n}" for n in range(10, 30)]
    assert sent[0][1:] == (False, system_fixes.FSCK_TIMEOUT_S)
    answering(monkeypatch, ROOT + "@@repair /dev/vdb1 xfs_repair 2\n@@check /dev/vdb1 xfs_repair 2\n@@end\n")
    dirty = await apply_repair(TARGET, HostKeyTrust(), planned)
    assert not dirty.problem_gone
    assert "never runs xfs_repair -L" in dirty.verdict


BOOT = "@@boot root\n|4000 vmlinuz-6.1.0-30-amd64\n|0 initrd.img-6.1.0-30-amd64\n|9000 initrd.img-6.1.0-29-amd64\n"


async def test_the_initramfs_plan_backs_up_the_non_empty_ones_and_names_every_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answering(monkeypatch, ROOT + BOOT + "@@builder dracut\n@@end\n")
    planned = await plan("boot.rebuild_initramfs")
    assert planned.files == ["/boot/initrd.img-6.1.0-29-amd64", "/boot/initrd.img-6.1.0-30-amd64"]
    assert (
        planned.commands[0]
        == "cp -p /boot/initrd.img-6.1.0-29-amd64 /boot/initrd.img-6.1.0-29-amd64.zomro-rescue-STAMP"
    )
    assert "chroot ROOT dracut -f --regenerate-all" in planned.commands
    assert planned.extra == {"BUILDER": "dracut", "FILES": "initrd.img-6.1.0-29-amd64,initrd.img-6.1.0-30-amd64"}


@pytest.mark.parametrize(
    ("report", "words"),
    [
        (BOOT + "@@builder none\n", "The instance has neither update-initramfs (initramfs-tools) nor dracut"),
        ("@@boot separate\n@@builder dracut\n", "fstab mounts /boot from a file system of its own"),
    ],
)
async def test_an_initramfs_rebuild_that_does_not_apply_is_refused(
    monkeypatch: pytest.MonkeyPatch, report: str, words: str
) -> None:
    answering(monkeypatch, ROOT + report + "@@end\n")
    with pytest.raises(RepairRefusedError) as refused:
        await plan("boot.rebuild_initramfs")
    assert words in str(refused.value)
    assert str(refused.value).endswith(".")


async def test_the_initramfs_verdict_is_that_every_initramfs_is_non_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    answering(monkeypatch, ROOT + BOOT + "@@builder update-initramfs\n@@end\n")
    planned = await plan("boot.rebuild_initramfs")
    sent = answering(monkeypatch, ROOT + "@@build_status 0\n" + BOOT + "@@end\n")
    empty_still = await apply_repair(TARGET, HostKeyTrust(), planned)
    assert not empty_still.problem_gone
    assert [f.kind for f in empty_still.remaining] == ["boot.empty_initramfs"]
    assert "ZR_X_BUILDER=update-initramfs\n" in sent[0][0]
    assert "ZR_STAMP=2" in sent[0][0]
    rebuilt = BOOT.replace("|0 initrd", "|7000 initrd")
    answering(monkeypatch, ROOT + "@@build_status 0\n" + rebuilt + "@@end\n")
    assert (await apply_repair(TARGET, HostKeyTrust(), planned)).problem_gone


PASSWORD = "Rescue-pass-4712"


async def test_a_system_fix_whose_answer_was_lost_is_never_run_again() -> None:
    planned = RepairPlan(
        fix="fs.repair",
        target="/dev/vdb1",
        device="/dev/vdb1",
        files=[],
        diff="",
        summary="",
        commands=["umount ROOT", "e2fsck -f -y /dev/vdb1", "e2fsck -n -f /dev/vdb1"],
        extra={"DEVICE": "/dev/vdb1"},
    )
    async with loopback_sshd(PASSWORD) as server:
        target = SSHTarget(server.host, server.port, password=PASSWORD, session=RescueSession.begin("default", 7))
        server.drop_next = 1
        with pytest.raises(CommandOutcomeUnknownError, match="not run again"):
            await apply_repair(target, HostKeyTrust(), planned)
    assert len(server.commands) == 1
