"""disk.vacuum_journal, fs.repair and boot.rebuild_initramfs on the real rescue VM, each from a disk with its problem.

One VM boot for the module, four case disks attached: vdb a root filled by archived journal files (disk.full), vdc
the fs.errors disk (a wrong link count in ext4), vdd an empty initramfs with an older kernel's intact one beside it
and a stand-in for initramfs-tools' update-initramfs (the Debian root has none) that checks the chroot it runs in,
vde a wrong link count in XFS. The
module's fixture takes each through its story once (the image's checksum, the preview, the checksum again, the
confirm, a fresh diagnosis) and then asks for the previews that must be refused; the tests read what it recorded.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from zomro_rescue_mcp.rescue_system import Diagnosis, HostKeyTrust, RescueSession, SSHTarget, connect, diagnose
from zomro_rescue_mcp.rescue_system.repairs import (
    RepairOutcome,
    RepairPlan,
    RepairRefusedError,
    apply_repair,
    plan_repair,
)
from zomro_rescue_mcp.simulator.rescue_vm import RescueVM

from .cases import KERNEL, Case, _dumpe2fs, build_case, empty_initramfs, fs_errors, replace
from .disks import MIB, _partition_table, _place, ext4_image, require_vm, xfs_image

pytestmark = pytest.mark.anyio

OLD_KERNEL = "6.1.0-29-cloud-amd64"
OLD_INITRAMFS = b"\x1f\x8b the older kernel's initramfs " * 400
MACHINE = "5c1e0a7e9d2b4f6a8c3e1d0f2a4b6c8d"
JOURNAL = f"/var/log/journal/{MACHINE}"
STAND_IN = r"""#!/bin/sh
# A stand-in for initramfs-tools' update-initramfs: it checks the chroot it runs in, then rewrites each initrd.img-*.
[ "$*" = "-u -k all" ] || { echo "unexpected arguments: $*" >&2; exit 2; }
[ -r /proc/self/status ] || { echo "no /proc" >&2; exit 3; }
[ -d /sys/kernel ] || { echo "no /sys" >&2; exit 3; }
[ -c /dev/null ] || { echo "no /dev" >&2; exit 3; }
grep -q ' /dev/pts devpts ' /proc/self/mounts || { echo "no devpts" >&2; exit 3; }
for f in /boot/initrd.img-*; do
    case $f in *.zomro-rescue-*) continue ;; esac
    echo "update-initramfs: Generating $f"
    printf 'the rebuilt initramfs of %s\n' "${f#/boot/initrd.img-}" >"$f.new" && mv "$f.new" "$f" || exit 1
done
"""


def journal_full(tree: Path, out: Path, uuid: str) -> Path:
    """The healthy tree whose persistent journal (archived files of 8 MiB and a small active one) leaves about
    3 MiB of the file system free (≥ 98 % used)."""
    ext4_image(tree, out, 200, uuid=uuid)
    sb = _dumpe2fs(out, MIB)
    free = (sb["Free blocks"] - sb["Reserved block count"]) * sb["Block size"]
    folder = tree / JOURNAL.lstrip("/")
    folder.mkdir(parents=True)
    replace(folder / "system.journal", os.urandom(2 * MIB), 0o640)
    left, number = free - 2 * MIB - 3 * MIB, 1
    while left > 0:
        size = min(left, 8 * MIB)
        name = f"system@{MACHINE[:31]}{number:x}-{number:016x}-{0x5F0000000000 + number:016x}.journal"
        replace(folder / name, os.urandom(size), 0o640)
        left, number = left - size, number + 1
    return ext4_image(tree, out, 200, uuid=uuid)


def initramfs_to_rebuild(tree: Path) -> None:
    empty_initramfs(tree)
    replace(tree / f"boot/vmlinuz-{OLD_KERNEL}", b"\x7fELF older kernel " * 800)
    replace(tree / f"boot/initrd.img-{OLD_KERNEL}", OLD_INITRAMFS)
    replace(tree / "usr/sbin/update-initramfs", STAND_IN, 0o755)


def xfs_errors(tree: Path, out: Path, uuid: str) -> Path:
    """The healthy tree on XFS with a wrong link count in one inode: xfs_repair -n reports it."""
    filesystem = xfs_image(tree, out.with_name(out.name + ".xfs"), XFS_MB - 2, partitioned=False)
    subprocess.run(
        ["/usr/sbin/xfs_db", "-x", "-c", "path /etc/hostname", "-c", "write core.nlinkv2 7", str(filesystem)],
        capture_output=True,
        check=True,
    )
    _partition_table(out, XFS_MB, "gpt")
    _place(filesystem, out)
    return out


XFS_MB = 400
# Each story: its fix, its case disk, the disk it is attached as, the fix's target, the finding it clears.
STORIES: dict[str, tuple[str, Case, str, str | None, str]] = {
    "vacuum": (
        "disk.vacuum_journal",
        Case("vacuum", frozenset({"disk.full"}), build=journal_full),
        "/dev/vdb",
        "8M",
        "disk.full",
    ),
    "ext4": (
        "fs.repair",
        Case("ext4", frozenset({"fs.errors"}), build=fs_errors),
        "/dev/vdc",
        "/dev/vdc1",
        "fs.errors",
    ),
    "initramfs": (
        "boot.rebuild_initramfs",
        Case("initramfs", frozenset({"boot.empty_initramfs"}), initramfs_to_rebuild),
        "/dev/vdd",
        None,
        "boot.empty_initramfs",
    ),
    "xfs": (
        "fs.repair",
        Case("xfs", frozenset({"fs.errors"}), build=xfs_errors, root_spec="/dev/vda1", fstype="xfs"),
        "/dev/vde",
        None,
        "fs.errors",
    ),
}
REFUSALS: dict[str, tuple[str, str | None, str]] = {  # name: fix, target, disk
    "no journal": ("disk.vacuum_journal", None, "/dev/vdc"),
    "journal small enough": ("disk.vacuum_journal", "1G", "/dev/vdb"),
    "no errors": ("fs.repair", None, "/dev/vdb"),
    "rescue disk": ("fs.repair", "/dev/vda1", "/dev/vdb"),
    "no builder": ("boot.rebuild_initramfs", None, "/dev/vdc"),
}
STATE = r"""
printf 'mounts %s\n' "$(findmnt -rn -o TARGET | grep -c zomro-rescue)"
printf 'folders %s\n' "$(ls -d /tmp/zomro-rescue.* 2>/dev/null | wc -l)"
"""


@dataclass
class Story:
    before: Diagnosis | Exception | None = None
    sha_before: str = ""
    sha_after_preview: str = ""
    plan: RepairPlan | Exception | None = None
    outcome: RepairOutcome | Exception | None = None
    after: Diagnosis | Exception | None = None


@dataclass
class Bench:
    stories: dict[str, Story] = field(default_factory=dict)
    refusals: dict[str, Exception | RepairPlan] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)
    backup: bytes = b""  # the older kernel's initramfs backup, read from the image after the VM stopped
    seconds: float = 0.0


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def ok(step: object) -> object:
    if isinstance(step, Exception):
        raise step
    assert step is not None, "the step did not run (an earlier one failed)"
    return step


async def _story(target: SSHTarget, trust: HostKeyTrust, name: str, image: Path, story: Story) -> None:
    fix, _, device, target_arg, _ = STORIES[name]
    story.before = await diagnose(target, trust, disk=device)
    story.sha_before = _sha256(image)
    story.plan = plan = await plan_repair(target, trust, fix, target_arg, disk=device)
    story.sha_after_preview = _sha256(image)
    story.outcome = await apply_repair(target, trust, plan)
    story.after = await diagnose(target, trust, disk=device)


def _read_backup(image: Path, name: str) -> bytes:
    done = subprocess.run(
        ["/usr/sbin/debugfs", "-R", f"cat {name}", f"{image}?offset={MIB}"], capture_output=True, check=True
    )
    return done.stdout


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def bench(debian_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Bench:
    require_vm()
    folder = tmp_path_factory.mktemp("system-fixes")
    images = {name: build_case(case, debian_root, folder) for name, (_, case, _, _, _) in STORIES.items()}
    bench = Bench()
    started = time.monotonic()
    async with RescueVM(list(images.values()), password="Rescue-system-fixes-3") as vm:
        target = SSHTarget(vm.host, vm.port, password=vm.password, session=RescueSession.begin("default", 1))
        trust = HostKeyTrust()
        for name, image in images.items():
            story = bench.stories[name] = Story()
            try:
                await _story(target, trust, name, image, story)
            except Exception as failed:  # kept where the step's test raises it
                for name in ("before", "plan", "outcome", "after"):
                    if getattr(story, name) is None:
                        setattr(story, name, failed)
                        break
        for name, (fix, target_arg, disk) in REFUSALS.items():
            try:
                bench.refusals[name] = await plan_repair(target, trust, fix, target_arg, disk=disk)
            except Exception as refused:  # the test reads it
                bench.refusals[name] = refused
        async with await connect(target, trust) as conn:
            done = await conn.run(STATE, read_only=True)
        bench.state = dict(line.split(" ", 1) for line in done.text.splitlines() if " " in line)
    bench.seconds = time.monotonic() - started
    outcome = bench.stories["initramfs"].outcome
    if isinstance(outcome, RepairOutcome) and outcome.backups:
        bench.backup = _read_backup(images["initramfs"], outcome.backups[0])
    return bench


@pytest.mark.parametrize("name", list(STORIES))
async def test_the_disk_has_the_problem_before_the_fix(bench: Bench, name: str) -> None:
    before = ok(bench.stories[name].before)
    assert isinstance(before, Diagnosis)
    assert STORIES[name][4] in {f.kind for f in before.findings}


async def test_the_vacuum_preview_shows_the_exact_command(bench: Bench) -> None:
    plan = ok(bench.stories["vacuum"].plan)
    assert isinstance(plan, RepairPlan)
    assert plan.commands == ["journalctl --directory ROOT/var/log/journal --vacuum-size=8M"]
    assert (plan.files, plan.device, plan.diff) == (["/var/log/journal"], "/dev/vdb1", "")
    assert "No backup is kept, since a copy would keep the space used." in plan.summary


async def test_the_fs_repair_preview_shows_the_exact_commands(bench: Bench) -> None:
    plan = ok(bench.stories["ext4"].plan)
    assert isinstance(plan, RepairPlan)
    assert plan.commands == ["umount ROOT", "e2fsck -f -y /dev/vdc1", "e2fsck -n -f /dev/vdc1"]
    assert (plan.files, plan.device) == ([], "/dev/vdc1")


async def test_on_xfs_the_fs_repair_preview_and_outcome_name_xfs_repair(bench: Bench) -> None:
    plan, outcome = ok(bench.stories["xfs"].plan), ok(bench.stories["xfs"].outcome)
    assert isinstance(plan, RepairPlan)
    assert isinstance(outcome, RepairOutcome)
    assert plan.commands == ["umount ROOT", "xfs_repair /dev/vde1", "xfs_repair -n /dev/vde1"]
    assert outcome.verdict.startswith("The repair ended with exit status 0, and a read-only check of /dev/vde1 now")


async def test_the_initramfs_preview_shows_the_exact_commands_and_the_files_it_replaces(bench: Bench) -> None:
    plan = ok(bench.stories["initramfs"].plan)
    assert isinstance(plan, RepairPlan)
    assert plan.files == [f"/boot/initrd.img-{OLD_KERNEL}", f"/boot/initrd.img-{KERNEL}"]
    assert plan.commands == [
        f"cp -p /boot/initrd.img-{OLD_KERNEL} /boot/initrd.img-{OLD_KERNEL}.zomro-rescue-STAMP",
        "mount -t proc proc ROOT/proc",
        "mount -t sysfs sysfs ROOT/sys",
        "mount --bind /dev ROOT/dev",
        "mount -t devpts devpts ROOT/dev/pts",
        "chroot ROOT /usr/sbin/update-initramfs -u -k all",
        "umount ROOT/dev/pts ROOT/dev ROOT/sys ROOT/proc",
    ]


@pytest.mark.parametrize("name", list(STORIES))
async def test_the_preview_leaves_the_disk_unchanged(bench: Bench, name: str) -> None:
    story = bench.stories[name]
    ok(story.plan)
    assert story.sha_after_preview == story.sha_before


@pytest.mark.parametrize("name", list(STORIES))
async def test_after_the_confirm_a_fresh_diagnosis_no_longer_finds_the_problem(bench: Bench, name: str) -> None:
    story = bench.stories[name]
    outcome = ok(story.outcome)
    assert isinstance(outcome, RepairOutcome)
    assert outcome.problem_gone, outcome.verdict
    after = ok(story.after)
    assert isinstance(after, Diagnosis)
    assert STORIES[name][4] not in {f.kind for f in after.findings}


async def test_fs_repair_reports_the_programs_exit_status_and_last_lines(bench: Bench) -> None:
    outcome = ok(bench.stories["ext4"].outcome)
    assert isinstance(outcome, RepairOutcome)
    assert outcome.verdict.startswith("The repair ended with exit status 1, and a read-only check of /dev/vdc1 now")
    assert any("FILE SYSTEM WAS MODIFIED" in line for line in outcome.output), outcome.output
    assert (outcome.files_changed, outcome.backups) == ([], [])


async def test_the_initramfs_rebuild_backs_up_the_intact_initramfs_beside_it_first(bench: Bench) -> None:
    outcome = ok(bench.stories["initramfs"].outcome)
    assert isinstance(outcome, RepairOutcome)
    assert len(outcome.backups) == 1
    assert outcome.backups[0].startswith(f"/boot/initrd.img-{OLD_KERNEL}.zomro-rescue-")
    assert bench.backup == OLD_INITRAMFS
    assert outcome.files_changed == [f"/boot/initrd.img-{OLD_KERNEL}", f"/boot/initrd.img-{KERNEL}"]


@pytest.mark.parametrize(
    ("refusal", "words"),
    [
        ("no journal", "The instance has no persistent journal (/var/log/journal)"),
        ("journal small enough", "no more than 1G already"),
        ("no errors", "e2fsck -n finds no errors on /dev/vdb1"),
        ("rescue disk", "/dev/vda1 is on a disk the rescue system itself uses"),
        ("no builder", "The instance has neither update-initramfs (initramfs-tools) nor dracut"),
    ],
)
async def test_a_fix_that_does_not_apply_is_refused_with_a_sentence(bench: Bench, refusal: str, words: str) -> None:
    refused = bench.refusals[refusal]
    assert isinstance(refused, RepairRefusedError), refused
    assert words in str(refused)
    assert str(refused).endswith(".")


async def test_nothing_is_left_mounted_after_the_repairs(bench: Bench) -> None:
    assert bench.state == {"mounts": "0", "folders": "0"}
