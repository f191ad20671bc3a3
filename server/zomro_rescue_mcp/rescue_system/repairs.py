"""Repairs inside the rescue system: a read-only plan that shows the exact change, then one confirmed application.

    plan = await plan_repair(target, trust, "fstab.add_nofail", finding.target)   # mounts read-only, writes nothing
    shown = plan.diff                                                           # the exact unified diff, to show
    outcome = await apply_repair(target, trust, plan)                           # the person said yes

`plan_repair` refuses (`RepairRefusedError`, a sentence) when the fix does not apply: the line is not there, two lines
match, no file system can replace a stale source. `apply_repair` runs repair.sh once (never again after a lost answer:
`CommandOutcomeUnknownError`): it refuses if the file changed since the plan, backs the file up beside itself as
FILE.zomro-rescue-YYYYmmddTHHMMSSZ, writes atomically keeping owner and mode, reads the file back and checks it again
the way the diagnosis does, and unmounts. The file edits here are of /etc/fstab (fstab_edit.py), and
`file.restore_backup` puts back a backup this module made (of the files the fixes edit only: never a file holding a
hash or a private key). The fixes that run commands instead (command_fixes.py: ssh.fix_permissions,
ssh.generate_host_keys, disk.truncate_file) plan the exact commands and no diff, and keep no backup. The plan keeps
what the apply needs (the new content, the mode changes) in fields left out of its serialised form: hold the
`RepairPlan` object itself between preview and confirm.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time

from . import access_fixes, command_fixes, fstab_edit, system_fixes
from .connection import SSHTarget
from .disks import Inventory, read_disks
from .findings import Finding
from .fstab import check_fstab
from .limits import Limits
from .repair_models import Fix, Planner, RepairOutcome, RepairPlan
from .repair_remote import RepairRefusedError, read_file, repair_script, run_script
from .script import DISK_PATTERN
from .trust import HostKeyTrust
from .unified_diff import text as _text
from .unified_diff import unified_diff as _diff

__all__ = [
    "BACKUP_SUFFIX",
    "REPAIRS",
    "Fix",
    "RepairOutcome",
    "RepairPlan",
    "RepairRefusedError",
    "apply_repair",
    "plan_repair",
    "repair_script",
]

log = logging.getLogger("zomro_rescue_mcp.rescue_system")

_FILE_EDITS: dict[str, str] = {
    "fstab.add_nofail": "adds nofail to the named /etc/fstab line",
    "fstab.comment_out": "comments the named /etc/fstab line out",
    "fstab.replace_device": "replaces a stale source on the named /etc/fstab line with the UUID of the one file "
    "system that can be it",
    "file.restore_backup": "puts back a backup this tool made (target: the backup's path)",
}
BACKUP_SUFFIX = re.compile(r"\.zomro-rescue-\d{8}T\d{6}Z$")
_RESTORABLE = (  # the files the fixes edit; none holds a secret (/etc/shadow is left out: its backup holds hashes)
    "/etc/fstab",
    "/etc/ssh/sshd_config",
    "/root/.ssh/authorized_keys",
    "/etc/ufw/user.rules",
    "/etc/nftables.conf",
    "/etc/iptables/rules.v4",
    "/etc/sysconfig/iptables",
)
_FSTAB = "/etc/fstab"
_FSTAB_KINDS = ("fstab.unknown_device", "fstab.invalid_line")


def _edit(fix: str, text: str, target_arg: str | None, inventory: Inventory) -> tuple[fstab_edit.LineEdit, str]:
    if fix == "fstab.add_nofail":
        edit = fstab_edit.add_nofail(text, target_arg)
        return edit, f"Adds nofail to /etc/fstab line {edit.number}, so that the boot goes on without its device."
    if fix == "fstab.comment_out":
        edit = fstab_edit.comment_out(text, target_arg)
        return edit, f"Comments out /etc/fstab line {edit.number}: the boot ignores it."
    edit, device = fstab_edit.replace_device(text, target_arg, inventory)
    return edit, f"Replaces the source on /etc/fstab line {edit.number} with the UUID of {device}."


async def plan_repair(
    target: SSHTarget,
    trust: HostKeyTrust,
    fix: str,
    target_arg: str | None,
    *,
    limits: Limits | None = None,
    disk: str | None = None,
) -> RepairPlan:
    """Read what `fix` would change on the instance's root (mounted read-only, one remote script) and return the plan.

    `disk` names the disk (e.g. /dev/vdc) or the file system that holds the root when several disks hold one, as in
    `diagnose`; the other disks are then left out (their identifiers included). Raises `RepairRefusedError` when
    the fix does not apply, and the connection's `RescueSystemError`s.
    """
    limits = limits or Limits()
    if fix not in REPAIRS:
        raise RepairRefusedError(f"There is no fix {fix[:60]!r} here; the fixes are: {', '.join(REPAIRS)}.")
    if disk is not None and not DISK_PATTERN.fullmatch(disk):
        raise RepairRefusedError(f"{disk[:60]!r} is not a device path (such as /dev/vdc).")
    return await REPAIRS[fix].plan(target, trust, target_arg, limits, disk)


def _file_edit_planner(fix: str) -> Planner:
    async def plan(
        target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
    ) -> RepairPlan:
        return await _plan_file_edit(target, trust, fix, target_arg, limits, disk)

    return plan


async def _plan_file_edit(
    target: SSHTarget, trust: HostKeyTrust, fix: str, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    path, source = _FSTAB, ""
    if fix == "file.restore_backup":
        source = (target_arg or "").strip()
        original = BACKUP_SUFFIX.sub("", source)
        if original == source or original not in _RESTORABLE:
            raise RepairRefusedError(
                f"{source[:120]!r} is not a backup this tool makes (FILE.zomro-rescue-YYYYmmddTHHMMSSZ of "
                f"{' or '.join(_RESTORABLE)}); give the backup's path inside the instance's root."
            )
        path = original
    report, _ = await run_script(
        target, trust, repair_script("plan", device=disk, file=path, source=source), limits, read_only=True
    )
    root = report.first("root")
    assert root is not None  # run_script refused a report without one
    old, old_sha, mode = read_file(report, "file", path)
    check_line: str | None = None
    if source:
        new, _, _ = read_file(report, "source", source)
        if new == old:
            raise RepairRefusedError(f"{path} is the same as {source} already; nothing to change.")
        summary = f"Puts {source} back as {path} (the current {path} is backed up first)."
    else:
        try:
            edit, summary = _edit(fix, _text(old), target_arg, read_disks(report, only=disk))
        except fstab_edit.EditRefused as refused:
            raise RepairRefusedError(str(refused)) from None
        new = edit.apply(_text(old)).encode("utf-8", "surrogateescape")
        check_line = edit.new
    return RepairPlan(
        fix=fix,
        target=target_arg,
        device=root.arg(0),
        scope=disk,
        files=[path],
        diff=_diff(path, old, new),
        summary=summary,
        old_sha256=old_sha,
        mode=mode,
        new_content_b64=base64.b64encode(new).decode("ascii"),
        check_line=check_line,
    )


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


async def apply_repair(
    target: SSHTarget,
    trust: HostKeyTrust,
    plan: RepairPlan,
    *,
    limits: Limits | None = None,
    password: str | None = None,
) -> RepairOutcome:
    """Make the change `plan` shows, once: back up, write atomically, check again, unmount.

    Never re-run after a lost answer (`CommandOutcomeUnknownError`: diagnose again). Raises `RepairRefusedError`
    when the file changed since the plan (nothing written). `password`: the one account.set_root_password sets
    (the caller checks it against the product's rules, or generates it); it travels only inside the script, on
    the SSH channel's standard input, as ZR_X_PASSWORD_B64.
    """
    limits = limits or Limits()
    if password is not None:
        encoded = base64.b64encode(password.encode("utf-8")).decode("ascii")
        plan = plan.model_copy(update={"extra": {**plan.extra, "PASSWORD_B64": encoded}})
    return await REPAIRS[plan.fix].apply(target, trust, plan, limits, time.monotonic())


async def _apply_file_edit(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
) -> RepairOutcome:
    new = base64.b64decode(plan.new_content_b64)
    path = plan.files[0]
    script = repair_script(
        "apply",
        device=plan.device,
        file=path,
        sha=plan.old_sha256,
        new_b64=plan.new_content_b64,
        new_sha=hashlib.sha256(new).hexdigest(),
        stamp=_stamp(),
    )
    report, round_trips = await run_script(target, trust, script, limits, read_only=False)
    backups = [s.arg(0) for s in report.all("backup")]
    after, _, _ = read_file(report, "after", path)
    remaining: list[Finding] = []
    if plan.fix == "file.restore_backup":
        gone = after == new
        verdict = (
            f"{path} now reads as the backup {plan.target}."
            if gone
            else f"{path} does not read as the backup after the write; diagnose again."
        )
    else:
        findings, _, _ = check_fstab(_text(after), read_disks(report, only=plan.scope))
        remaining = [f for f in findings if f.kind in _FSTAB_KINDS]
        line = (plan.check_line or "").strip()
        gone = after == new and not any((f.target or "").strip() == line for f in remaining)
        verdict = (
            "The fstab check no longer finds a problem on that line."
            if gone
            else "The fstab check still finds a problem on that line; diagnose again."
        )
    log.info("repair %s on %s: %s, backups %s", plan.fix, plan.device, "gone" if gone else "not gone", backups)
    return RepairOutcome(
        fix=plan.fix,
        device=plan.device,
        files_changed=[path] if report.has("written") else [],
        backups=backups,
        problem_gone=gone,
        verdict=verdict,
        remaining=remaining,
        round_trips=round_trips,
        elapsed_s=round(time.monotonic() - started, 2),
    )


REPAIRS: dict[str, Fix] = {
    **{fix: Fix(does, _file_edit_planner(fix), _apply_file_edit) for fix, does in _FILE_EDITS.items()},
    **command_fixes.FIXES,
    **system_fixes.FIXES,
    **access_fixes.FIXES,
}
"""Every fix, by id: what it does, its planner and its applier."""
