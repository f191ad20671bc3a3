"""boot.rebuild_initramfs: the instance's own initramfs builder, in a chroot, after a backup of what it replaces.

The plan (plan_initramfs mode, read-only) lists /boot's kernels and initramfs images as the diagnosis does and finds
the builder (`update-initramfs`, else `dracut`); it refuses when there is neither, or when fstab mounts /boot from a
file system of its own. The apply (initramfs mode, one run) copies each non-empty initramfs of the plan beside itself
as FILE.zomro-rescue-STAMP (an empty one holds nothing to keep, and its empty copy would read as a broken initramfs),
mounts proc, sys, dev (bound) and devpts in the root, runs `update-initramfs -u -k all` / `dracut -f
--regenerate-all` there, and checks /boot again the way boot.py does: every initramfs non-empty.
"""

from __future__ import annotations

import dataclasses
import re
import time

from .boot import check_boot
from .connection import SSHTarget
from .findings import Finding
from .limits import Limits
from .repair_models import RepairOutcome, RepairPlan
from .repair_remote import RepairRefusedError, repair_script, run_script
from .report import Report, Section
from .trust import HostKeyTrust

__all__ = ["BUILD_TIMEOUT_S", "apply_initramfs", "plan_initramfs"]

BUILD_TIMEOUT_S = 900.0  # update-initramfs -k all compresses one image per kernel; minutes on a slow instance
_NAME = re.compile(r"[A-Za-z0-9._+-]{1,200}")


def _root(report: Report) -> str:
    root = report.first("root")
    assert root is not None  # run_script refused a report without one
    return root.arg(0)


def _last(section: Section | None, count: int = 20) -> list[str]:
    return [line for line in section.lines if line.strip()][-count:] if section else []


_BUILDERS = {
    "update-initramfs": "/usr/sbin/update-initramfs -u -k all",
    "dracut": "dracut -f --regenerate-all",
}
_INITRAMFS = re.compile(r"^(initrd|initramfs)")


def _boot_files(report: Report) -> dict[str, int]:
    section = report.first("boot")
    files: dict[str, int] = {}
    for line in section.lines if section else ():
        size, _, name = line.strip().partition(" ")
        if size.isdigit() and _NAME.fullmatch(name):
            files[name] = int(size)
    return files


async def plan_initramfs(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    report, _ = await run_script(
        target, trust, repair_script("plan_initramfs", device=disk, file=""), limits, read_only=True
    )
    device = _root(report)
    boot = report.first("boot")
    if boot is None or boot.arg(0) != "root":
        raise RepairRefusedError(
            "fstab mounts /boot from a file system of its own (or the root has no /boot folder); this fix rebuilds "
            "an initramfs only in a /boot on the root: nothing was changed."
        )
    builder = report.first("builder")
    name = builder.arg(0) if builder else "none"
    if name not in _BUILDERS:
        raise RepairRefusedError(
            "The instance has neither update-initramfs (initramfs-tools) nor dracut; nothing was changed: install "
            "one in a chroot (run_in_rescue), then run this fix."
        )
    files = _boot_files(report)
    images = sorted(n for n in files if _INITRAMFS.match(n))
    empty = [n for n in images if files[n] == 0]
    kept = [n for n in images if files[n] > 0]
    command = _BUILDERS[name]
    return RepairPlan(
        fix="boot.rebuild_initramfs",
        target=target_arg,
        device=device,
        scope=disk,
        files=[f"/boot/{n}" for n in images],
        diff="",
        commands=[
            *(f"cp -p /boot/{n} /boot/{n}.zomro-rescue-STAMP" for n in kept),
            "mount -t proc proc ROOT/proc",
            "mount -t sysfs sysfs ROOT/sys",
            "mount --bind /dev ROOT/dev",
            "mount -t devpts devpts ROOT/dev/pts",
            f"chroot ROOT {command}",
            "umount ROOT/dev/pts ROOT/dev ROOT/sys ROOT/proc",
        ],
        summary=f"Rebuilds every initramfs in /boot with the instance's own {name}"
        + (f" (empty now: {', '.join(empty)})" if empty else "")
        + "; each non-empty one is backed up beside itself first (an empty one holds nothing to keep).",
        extra={"BUILDER": name, "FILES": ",".join(images)},
    )


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


async def apply_initramfs(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
) -> RepairOutcome:
    script = repair_script("initramfs", device=plan.device, file="", stamp=_stamp(), extra=plan.extra)
    report, round_trips = await run_script(
        target,
        trust,
        script,
        dataclasses.replace(limits, command_timeout_s=max(limits.command_timeout_s, BUILD_TIMEOUT_S)),
        read_only=False,
    )
    status = report.first("build_status")
    built = status is not None and status.arg(0) == "0"
    before = {s.arg(0): s.arg(1) for s in report.all("before")}
    after = {s.arg(0): s.arg(1) for s in report.all("after")}
    changed = sorted(path for path, state in after.items() if state != "absent" and state != before.get(path))
    findings, _, _ = check_boot(report)
    remaining: list[Finding] = [f for f in findings if f.kind in ("boot.empty_initramfs", "boot.no_kernel")]
    gone = built and not remaining
    if gone:
        verdict = "Every initramfs in /boot is non-empty now."
    elif built:
        verdict = f"{remaining[0].summary}; diagnose again."
    else:
        verdict = (
            f"The builder failed (exit status {status.arg(0) if status else 'unknown'}); the backups are beside the "
            "files: diagnose again before deciding what to do."
        )
    return RepairOutcome(
        fix=plan.fix,
        device=plan.device,
        files_changed=changed,
        backups=[s.arg(0) for s in report.all("backup")],
        problem_gone=gone,
        verdict=verdict,
        remaining=remaining,
        output=_last(status, 20),
        round_trips=round_trips,
        elapsed_s=round(time.monotonic() - started, 2),
    )
