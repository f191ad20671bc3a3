"""The repairs of the instance's system rather than of one file: each a plan (read-only, its own plan_… mode: the
exact commands, what they act on) and an apply (one run of repair.sh, checked again the way the diagnosis checks).

- disk.vacuum_journal: `journalctl --vacuum-size=SIZE` on the instance's persistent journal (the rescue system's
  journalctl, or the instance's own in a chroot); no backup: a copy of what it deletes would keep the space used;
- fs.repair: `e2fsck -f -y` / `xfs_repair` (never -L) on the unmounted file system, a long job with its own time
  limit (FSCK_TIMEOUT_S); its output goes to a file on the rescue system rather than down the channel (a lost
  connection never stops it halfway: it ignores HUP and PIPE), and the outcome carries its exit status and last 20
  lines; no backup: a copy of the device does not fit beside it (the plan says so), and the repair can lose data;
- boot.rebuild_initramfs (initramfs_fix.py): `update-initramfs -u -k all` / `dracut -f --regenerate-all` in a chroot
  with proc, sys, dev and devpts; each non-empty initramfs it replaces is backed up beside itself first.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time

from . import initramfs_fix
from .connection import SSHTarget
from .filesystems import check_usage
from .limits import Limits
from .repair_models import Fix, RepairOutcome, RepairPlan
from .repair_remote import RepairRefusedError, repair_script, run_script
from .report import Report, Section
from .script import DISK_PATTERN
from .trust import HostKeyTrust

__all__ = [
    "DEFAULT_VACUUM_SIZE",
    "FIXES",
    "FSCK_TIMEOUT_S",
    "apply_fs_repair",
    "apply_vacuum",
    "plan_fs_repair",
    "plan_vacuum",
    "vacuum_size",
]

log = logging.getLogger("zomro_rescue_mcp.rescue_system")

DEFAULT_VACUUM_SIZE = "200M"
FSCK_TIMEOUT_S = 900.0  # e2fsck -f -y / xfs_repair on a large, broken file system takes minutes
_SIZE = re.compile(r"([1-9][0-9]{0,5})([KMG])")
_UNITS = {"K": 1, "M": 1024, "G": 1024 * 1024}  # KiB, as journalctl reads K, M and G
_REFUSED = {
    "absent": "is not a block device in the rescue system",
    "type": "holds no ext2, ext3, ext4 or XFS file system",
    "inuse": "is on a disk the rescue system itself uses (a mounted file system, or its own disk)",
    "mounted": "is mounted in the rescue system",
    "readonly": "is read-only in the rescue system (blockdev --setro)",
    "tool": "cannot be repaired here: the rescue system lacks its repair program (e2fsprogs or xfsprogs)",
}


def _root(report: Report) -> str:
    root = report.first("root")
    assert root is not None  # run_script refused a report without one
    return root.arg(0)


def _kib(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _human_kib(kib: int) -> str:
    for unit, size in (("GiB", 1024 * 1024), ("MiB", 1024)):
        if kib >= size:
            return f"{kib / size:.1f} {unit}"
    return f"{kib} KiB"


# --- disk.vacuum_journal ------------------------------------------------------------------------------------------


def vacuum_size(target_arg: str | None) -> tuple[str, int]:
    """The size disk.vacuum_journal keeps (`target`, default 200M) as journalctl reads it, and in KiB."""
    size = (target_arg or "").strip() or DEFAULT_VACUUM_SIZE
    matched = _SIZE.fullmatch(size)
    if matched is None:
        raise RepairRefusedError(
            f"{size[:40]!r} is not a journal size; give a whole number with K, M or G (such as 200M or 1G), the size "
            "the journal is to be vacuumed down to. Nothing was changed."
        )
    return size, int(matched.group(1)) * _UNITS[matched.group(2)]


def _journal(report: Report) -> tuple[int, int, int] | None:
    """The journal's size, its archived files' count and their size (KiB), or None when there is none."""
    section = report.first("journal")
    if section is None or section.arg(0) != "present":
        return None
    return _kib(section.arg(1)), _kib(section.arg(2)), _kib(section.arg(3))


async def plan_vacuum(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    size, size_kib = vacuum_size(target_arg)
    report, _ = await run_script(
        target, trust, repair_script("plan_journal", device=disk, file=""), limits, read_only=True
    )
    device = _root(report)
    journal = _journal(report)
    if journal is None:
        raise RepairRefusedError(
            "The instance has no persistent journal (/var/log/journal); nothing to vacuum: see the diagnosis's "
            "largest folders, or empty one log file with disk.truncate_file."
        )
    total, archived, archived_kib = journal
    if total <= size_kib:
        raise RepairRefusedError(
            f"The instance's journal takes {_human_kib(total)}, no more than {size} already; nothing to vacuum: give "
            "a smaller size, or see the diagnosis's largest folders."
        )
    if archived == 0:
        raise RepairRefusedError(
            f"The instance's journal ({_human_kib(total)}) holds only active files, which journalctl never vacuums; "
            "nothing to delete: see the diagnosis's largest folders."
        )
    tool = report.first("journalctl")
    where = tool.arg(0) if tool is not None else "absent"
    if where == "rescue":
        commands = [f"journalctl --directory ROOT/var/log/journal --vacuum-size={size}"]
    elif where == "instance":
        commands = [
            "mount -t proc proc ROOT/proc",
            "mount --bind /dev ROOT/dev",
            f"chroot ROOT /usr/bin/journalctl --directory /var/log/journal --vacuum-size={size}",
            "umount ROOT/dev ROOT/proc",
        ]
    else:
        raise RepairRefusedError(
            "Neither the rescue system nor the instance has journalctl; nothing was changed: delete archived journal "
            "files by hand (run_in_rescue), oldest first."
        )
    return RepairPlan(
        fix="disk.vacuum_journal",
        target=target_arg,
        device=device,
        scope=disk,
        files=["/var/log/journal"],
        diff="",
        commands=commands,
        summary=f"Deletes the oldest archived journal files until the journal takes at most {size} (now "
        f"{_human_kib(total)}, of which {archived} archived files take {_human_kib(archived_kib)}); the active files "
        "stay. No backup is kept, since a copy would keep the space used.",
        extra={"SIZE": size, "TOOL": where},
    )


async def apply_vacuum(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
) -> RepairOutcome:
    script = repair_script("vacuum", device=plan.device, file="", extra=plan.extra)
    report, round_trips = await run_script(target, trust, script, limits, read_only=False)
    status = report.first("vacuum_status")
    done = status is not None and status.arg(0) == "0"
    remaining = [f for f in check_usage(report, {plan.device: "/"}) if f.kind == "disk.full"]
    journal = _journal(report)
    now = f"the journal takes {_human_kib(journal[0])} now" if journal else "the journal was not read back"
    if done and not remaining:
        verdict = f"The root file system is below the full mark now ({now})."
    elif done:
        verdict = f"{remaining[0].summary} ({now}); see the diagnosis's largest folders."
    else:
        verdict = f"journalctl failed (exit status {status.arg(0) if status else 'unknown'}); diagnose again."
    return RepairOutcome(
        fix=plan.fix,
        device=plan.device,
        files_changed=plan.files if done else [],
        backups=[],
        problem_gone=done and not remaining,
        verdict=verdict,
        remaining=remaining,
        output=list(status.lines) if status else [],
        round_trips=round_trips,
        elapsed_s=round(time.monotonic() - started, 2),
    )


# --- fs.repair ----------------------------------------------------------------------------------------------------


def _long_limits(limits: Limits) -> Limits:
    return dataclasses.replace(limits, command_timeout_s=max(limits.command_timeout_s, FSCK_TIMEOUT_S))


def _device(target_arg: str | None) -> str | None:
    device = (target_arg or "").strip()
    if not device:
        return None
    if not DISK_PATTERN.fullmatch(device):
        raise RepairRefusedError(
            f"{device[:60]!r} is not a device path; give the file system to repair as the diagnosis names it (such "
            "as /dev/vdb1), or nothing for the instance's root. Nothing was changed."
        )
    return device


def _fs_refused(report: Report) -> None:
    refused = report.first("fs_refused")
    if refused is not None:
        why = _REFUSED.get(refused.arg(1), "cannot be repaired here")
        raise RepairRefusedError(f"{refused.arg(0)} {why}; nothing was changed.")


def _check_passes(check: Section | None) -> bool:
    return check is not None and check.arg(2) == "0"


def _last(section: Section | None, count: int = 12) -> list[str]:
    return [line for line in section.lines if line.strip()][-count:] if section else []


async def plan_fs_repair(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    device = _device(target_arg)
    script = repair_script("plan_fsck", device=disk, file="", extra={"DEVICE": device} if device else None)
    report, _ = await run_script(target, trust, script, _long_limits(limits), read_only=True)
    root = _root(report)
    _fs_refused(report)
    check = report.first("check")
    if check is None:
        raise RepairRefusedError("The file system was not checked; nothing was changed: diagnose again.")
    fs, tool, status = check.arg(0), check.arg(1), check.arg(2)
    if status == "0":
        raise RepairRefusedError(f"{tool} -n finds no errors on {fs}; nothing to repair.")
    if tool == "xfs_repair" and status == "2":
        raise RepairRefusedError(
            f"The XFS log of {fs} holds changes not yet replayed (an unclean shutdown); xfs_repair refuses such a "
            "file system, and this fix never runs xfs_repair -L, which throws the log away and can lose data: mount "
            "it once in the rescue system and unmount it (that replays the log), then diagnose again. Nothing was "
            "changed."
        )
    errors = (tool == "e2fsck" and status in ("1", "2", "4", "12")) or (tool == "xfs_repair" and status == "1")
    if not errors:
        first = _last(check, 40)[:1] or ["no output"]
        raise RepairRefusedError(
            f"{tool} could not check {fs} (exit status {status}: {first[0][:160]}); nothing was "
            "changed: diagnose again."
        )
    command = f"xfs_repair {fs}" if tool == "xfs_repair" else f"e2fsck -f -y {fs}"
    again = f"xfs_repair -n {fs}" if tool == "xfs_repair" else f"e2fsck -n -f {fs}"
    return RepairPlan(
        fix="fs.repair",
        target=target_arg,
        device=root,
        scope=disk,
        files=[],
        diff="",
        commands=["umount ROOT", command, again],
        summary=f"Repairs {fs} with {command} on the unmounted device (up to {FSCK_TIMEOUT_S / 60:g} minutes), "
        f"answering yes to every fix it proposes; {tool} -n now reports errors (exit status {status}). It can "
        "lose data in what it cannot repair, and no backup is kept: a copy of the whole device does not fit beside "
        "it (copy the disk first if its data matters more than the time).",
        extra={"DEVICE": fs},
    )


async def apply_fs_repair(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
) -> RepairOutcome:
    script = repair_script("offline_fsck", device=plan.device, file="", extra=plan.extra)
    report, round_trips = await run_script(target, trust, script, _long_limits(limits), read_only=False)
    _fs_refused(report)
    repaired, check = report.first("repair"), report.first("check")
    status = repaired.arg(2) if repaired else "unknown"
    fs = plan.extra.get("DEVICE", plan.device)
    passes = _check_passes(check)
    if passes:
        verdict = f"The repair ended with exit status {status}, and a read-only check of {fs} now finds no errors."
    elif repaired is not None and repaired.arg(1) == "xfs_repair" and status == "2":
        verdict = (
            f"xfs_repair refused {fs}: its log holds changes not yet replayed, and this fix never runs xfs_repair "
            "-L; mount it once in the rescue system and unmount it, then diagnose again."
        )
    else:
        verdict = (
            f"The repair ended with exit status {status}, and the read-only check still reports errors (exit status "
            f"{check.arg(2) if check else 'unknown'}); diagnose again before deciding what to do."
        )
    log.info("repair fs.repair on %s: exit status %s, check %s", fs, status, "passes" if passes else "fails")
    return RepairOutcome(
        fix=plan.fix,
        device=plan.device,
        files_changed=[],
        backups=[],
        problem_gone=passes,
        verdict=verdict,
        output=_last(repaired, 20),
        round_trips=round_trips,
        elapsed_s=round(time.monotonic() - started, 2),
    )


FIXES: dict[str, Fix] = {
    "disk.vacuum_journal": Fix(
        "journalctl --vacuum-size on the instance's journal (target: the size to keep, such as 200M, the default)",
        plan_vacuum,
        apply_vacuum,
    ),
    "fs.repair": Fix(
        "e2fsck -f -y or xfs_repair on the unmounted file system (target: its device; default the root)",
        plan_fs_repair,
        apply_fs_repair,
    ),
    "boot.rebuild_initramfs": Fix(
        "update-initramfs -u -k all (or dracut -f --regenerate-all) in a chroot, each initramfs backed up first",
        initramfs_fix.plan_initramfs,
        initramfs_fix.apply_initramfs,
    ),
}
"""The system fixes, by id: what each does, its planner and its applier."""
