"""Repairs inside the rescue system: a read-only plan that shows the exact change, then one confirmed application.

    plan = await plan_repair(target, trust, "fstab.add_nofail", finding.target)   # mounts read-only, writes nothing
    print(plan.diff)                                                            # the exact unified diff
    outcome = await apply_repair(target, trust, plan)                           # the person said yes

`plan_repair` refuses (`RepairRefusedError`, a sentence) when the fix does not apply: the line is not there, two lines
match, no file system can replace a stale source. `apply_repair` runs repair.sh once (never again after a lost answer:
`CommandOutcomeUnknownError`): it refuses if the file changed since the plan, backs the file up beside itself as
FILE.zomro-rescue-YYYYmmddTHHMMSSZ, writes atomically keeping owner and mode, reads the file back and checks it again
the way the diagnosis does, and unmounts. The fixes here edit /etc/fstab, put back a backup this module made
(`file.restore_backup`, of the files the fixes edit only: never a file holding a hash or a private key), or set the
owners and modes StrictModes wants (`ssh.fix_permissions`: its plan has the exact commands and no diff; the old modes
are in its summary, there is no file to back up). The plan keeps what the apply needs (the new content, the mode
changes) in fields left out of its serialised form: hold the `RepairPlan` object itself between preview and confirm.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import logging
import re
import time

from pydantic import BaseModel, Field

from . import fstab_edit, permissions_fix
from .connection import SSHTarget
from .disks import Inventory, read_disks
from .findings import Finding
from .fstab import check_fstab
from .limits import Limits
from .repair_remote import RepairRefusedError, read_file, repair_script, run_script
from .report import Report
from .script import DISK_PATTERN
from .trust import HostKeyTrust

__all__ = [
    "BACKUP_SUFFIX",
    "REPAIRS",
    "RepairOutcome",
    "RepairPlan",
    "RepairRefusedError",
    "apply_repair",
    "plan_repair",
    "repair_script",
]

log = logging.getLogger("zomro_rescue_mcp.rescue_system")

REPAIRS: dict[str, str] = {
    "fstab.add_nofail": "adds nofail to the named /etc/fstab line",
    "fstab.comment_out": "comments the named /etc/fstab line out",
    "fstab.replace_device": "replaces a stale source on the named /etc/fstab line with the UUID of the one file "
    "system that can be it",
    "file.restore_backup": "puts back a backup this tool made (target: the backup's path)",
    "ssh.fix_permissions": "the owners and modes StrictModes wants on /root, .ssh and authorized_keys",
    "ssh.generate_host_keys": "ssh-keygen -A, the instance's own, in a chroot: creates the missing host keys",
}
BACKUP_SUFFIX = re.compile(r"\.zomro-rescue-\d{8}T\d{6}Z$")
_RESTORABLE = ("/etc/fstab", "/etc/ssh/sshd_config")  # the files the fixes edit; none holds a secret
_FSTAB = "/etc/fstab"
_FSTAB_KINDS = ("fstab.unknown_device", "fstab.invalid_line")


class RepairPlan(BaseModel):
    """What a repair will change, exactly, as read from the instance's disk (read-only) just now."""

    fix: str
    target: str | None = Field(description="What the fix acts on, as given.")
    device: str = Field(description="The instance's root file system, in the rescue system (e.g. /dev/vdb1).")
    scope: str | None = Field(default=None, description="The disk the plan was restricted to, if any (`disk`).")
    files: list[str] = Field(description="The files the fix changes, inside the instance's root.")
    diff: str = Field(description="The unified diff of the change.")
    commands: list[str] = Field(default_factory=list, description="The commands it runs (none for a file edit).")
    summary: str
    old_sha256: str = Field(default="", description="The file as read; the repair refuses if it changed since.")
    mode: str = Field(default="", description="The file's mode (octal) and owner (uid:gid), kept, e.g. 644 0:0.")
    new_content_b64: str = Field(default="", exclude=True, repr=False)
    perms: str = Field(default="", exclude=True, repr=False)  # ssh.fix_permissions: the script's ZR_PERMS
    check_line: str | None = Field(default=None, exclude=True, repr=False)  # the fstab line as the fix leaves it


class RepairOutcome(BaseModel):
    """What a repair did, and whether the problem it fixes is gone."""

    fix: str
    device: str
    files_changed: list[str]
    backups: list[str] = Field(description="Each changed file's backup, beside it (restore with file.restore_backup).")
    problem_gone: bool = Field(description="Whether the check that found the problem finds it no more.")
    verdict: str
    remaining: list[Finding] = Field(default_factory=list, description="What the same check still finds.")
    round_trips: int
    elapsed_s: float


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _diff(path: str, old: bytes, new: bytes) -> str:
    lines = difflib.unified_diff(
        _text(old).splitlines(keepends=True), _text(new).splitlines(keepends=True), f"a{path}", f"b{path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


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
    if fix == "ssh.fix_permissions":
        return await _plan_permissions(target, trust, target_arg, limits, disk)
    if fix == "ssh.generate_host_keys":
        return await _plan_host_keys(target, trust, target_arg, limits, disk)
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


async def _plan_permissions(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    report, _ = await run_script(target, trust, repair_script("plan", device=disk, file=""), limits, read_only=True)
    root = report.first("root")
    assert root is not None  # run_script refused a report without one
    try:
        planned = permissions_fix.changes(permissions_fix.read_perms(report))
    except ValueError as refused:
        raise RepairRefusedError(str(refused)) from None
    was = "; ".join(f"{c.path} {c.old.mode:o} {c.old.owner}" for c in planned)
    return RepairPlan(
        fix="ssh.fix_permissions",
        target=target_arg,
        device=root.arg(0),
        scope=disk,
        files=[c.path for c in planned],
        diff="",
        commands=permissions_fix.commands(planned),
        summary=f"Sets the owners and modes StrictModes wants (now: {was}).",
        perms=permissions_fix.items(planned),
    )


async def _apply_permissions(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
) -> RepairOutcome:
    script = repair_script("perms", device=plan.device, file="", perms=plan.perms)
    report, round_trips = await run_script(target, trust, script, limits, read_only=False)
    still = permissions_fix.wrong(permissions_fix.read_perms(report))
    changed = [s.arg(0) for s in report.all("set_perm")]
    shown = "; ".join(f"{p.path} {p.mode:o} {p.owner}" for p in still)
    return RepairOutcome(
        fix=plan.fix,
        device=plan.device,
        files_changed=changed,
        backups=[],
        problem_gone=not still and bool(changed),
        verdict=f"Still wrong: {shown}; diagnose again." if still else "StrictModes finds nothing to refuse now.",
        round_trips=round_trips,
        elapsed_s=round(time.monotonic() - started, 2),
    )


def _host_keys(report: Report) -> dict[str, str]:
    return {s.arg(0): s.arg(1) for s in report.all("hostkey")}


async def _plan_host_keys(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    report, _ = await run_script(target, trust, repair_script("plan", device=disk, file=""), limits, read_only=True)
    root = report.first("root")
    assert root is not None  # run_script refused a report without one
    keys = _host_keys(report)
    missing = [path for path, state in keys.items() if state == "missing"]
    other = [path for path, state in keys.items() if state == "other"]
    if other:
        raise RepairRefusedError(
            f"{', '.join(other)} exists but is not a non-empty file (a link, a folder or empty); ssh-keygen -A would "
            "leave it as it is: remove it by hand (run_in_rescue), then run this fix."
        )
    if not missing:
        raise RepairRefusedError("The instance has its SSH host keys (RSA, ECDSA, Ed25519) already; nothing to create.")
    if report.first("keygen") is None or report.all("keygen")[0].arg(0) != "present":
        raise RepairRefusedError(
            "The instance has no /usr/bin/ssh-keygen (openssh-client); install it in a chroot, or create the keys by "
            "hand (run_in_rescue)."
        )
    return RepairPlan(
        fix="ssh.generate_host_keys",
        target=target_arg,
        device=root.arg(0),
        scope=disk,
        files=[f for path in missing for f in (path, path + ".pub")],
        diff="",
        commands=["mount --bind /dev ROOT/dev", "chroot ROOT /usr/bin/ssh-keygen -A", "umount ROOT/dev"],
        summary=f"Creates the missing SSH host keys ({', '.join(p.rsplit('/', 1)[-1] for p in missing)}) with the "
        "instance's own ssh-keygen; the private keys stay on its disk.",
    )


async def _apply_host_keys(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
) -> RepairOutcome:
    report, round_trips = await run_script(
        target, trust, repair_script("hostkeys", device=plan.device, file=""), limits, read_only=False
    )
    keys = _host_keys(report)
    status = report.first("keygen_status")
    missing = [path for path, state in keys.items() if state != "present"]
    created = [f for f in plan.files if keys.get(f.removesuffix(".pub")) == "present"]
    gone = bool(keys) and not missing and status is not None and status.arg(0) == "0"
    detail = " ".join(status.lines[:2]) if status else ""
    return RepairOutcome(
        fix=plan.fix,
        device=plan.device,
        files_changed=created,
        backups=[],
        problem_gone=gone,
        verdict="The host keys sshd loads are there now."
        if gone
        else f"Still missing: {', '.join(missing) or 'unknown'} ({detail[:160]}); diagnose again.",
        round_trips=round_trips,
        elapsed_s=round(time.monotonic() - started, 2),
    )


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


async def apply_repair(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, *, limits: Limits | None = None
) -> RepairOutcome:
    """Make the change `plan` shows, once: back up, write atomically, check again, unmount.

    Never re-run after a lost answer (`CommandOutcomeUnknownError`: diagnose again). Raises `RepairRefusedError`
    when the file changed since the plan (nothing written).
    """
    limits = limits or Limits()
    started = time.monotonic()
    if plan.fix == "ssh.fix_permissions":
        return await _apply_permissions(target, trust, plan, limits, started)
    if plan.fix == "ssh.generate_host_keys":
        return await _apply_host_keys(target, trust, plan, limits, started)
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
