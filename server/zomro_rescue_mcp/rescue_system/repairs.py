"""Repairs inside the rescue system: a read-only plan that shows the exact change, then one confirmed application.

    plan = await plan_repair(target, trust, "fstab.add_nofail", finding.target)   # mounts read-only, writes nothing
    print(plan.diff)                                                            # the exact unified diff
    outcome = await apply_repair(target, trust, plan)                           # the person said yes

`plan_repair` refuses (`RepairRefusedError`, a sentence) when the fix does not apply: the line is not there, two lines
match, no file system can replace a stale source. `apply_repair` runs repair.sh once (never again after a lost answer:
`CommandOutcomeUnknownError`): it refuses if the file changed since the plan, backs the file up beside itself as
FILE.zomro-rescue-YYYYmmddTHHMMSSZ, writes atomically keeping owner and mode, reads the file back and checks it again
the way the diagnosis does, and unmounts. The fixes here edit /etc/fstab, or put back a backup this module made
(`file.restore_backup`, of the files the fixes edit only: never a file holding a hash or a private key).
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import logging
import re
import time
from typing import Literal

from pydantic import BaseModel, Field

from . import fstab_edit
from .connection import SSHTarget, connect
from .disks import Inventory, read_disks
from .errors import MissingToolError, RemoteTimeoutError, RescueSystemError, ScriptFailedError
from .findings import Finding
from .fstab import check_fstab
from .limits import Limits
from .report import Report, Section
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

FixId = Literal["fstab.add_nofail", "fstab.comment_out", "fstab.replace_device", "file.restore_backup"]
REPAIRS: dict[str, str] = {
    "fstab.add_nofail": "adds nofail to the named /etc/fstab line",
    "fstab.comment_out": "comments the named /etc/fstab line out",
    "fstab.replace_device": "replaces a stale source on the named /etc/fstab line with the UUID of the one file "
    "system that can be it",
    "file.restore_backup": "puts back a backup this tool made (target: the backup's path)",
}
BACKUP_SUFFIX = re.compile(r"\.zomro-rescue-\d{8}T\d{6}Z$")
_RESTORABLE = ("/etc/fstab", "/etc/ssh/sshd_config")  # the files the fixes edit; none holds a secret
_PATH = re.compile(r"/[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*")
_FSTAB = "/etc/fstab"
_FSTAB_KINDS = ("fstab.unknown_device", "fstab.invalid_line")


class RepairRefusedError(RescueSystemError):
    """The fix does not apply (or no longer applies): nothing was written."""

    kind = "rescue.repair_refused"


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
    old_sha256: str = Field(description="The file as read for the plan; the repair refuses if it changed since.")
    mode: str = Field(description="The file's mode (octal) and owner (uid:gid), kept by the repair, e.g. 644 0:0.")
    new_content_b64: str = Field(exclude=True, repr=False)
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


def _source() -> str:
    from importlib import resources

    return resources.files(__package__).joinpath("repair.sh").read_text(encoding="utf-8")


def repair_script(
    mode: Literal["plan", "apply"],
    *,
    device: str | None,
    file: str,
    source: str = "",
    sha: str = "",
    new_b64: str = "",
    new_sha: str = "",
    stamp: str = "",
) -> str:
    """repair.sh with its parameters set; every value is checked here, so none needs quoting."""
    if device is not None and not DISK_PATTERN.fullmatch(device):
        raise ValueError(f"not a device path: {device!r}")
    for path in (file, source):
        if path and (not _PATH.fullmatch(path) or "/../" in path + "/" or "/./" in path + "/"):
            raise ValueError(f"not a plain absolute path: {path!r}")
    if not re.fullmatch(r"[0-9a-f]{64}|", sha) or not re.fullmatch(r"[0-9a-f]{64}|", new_sha):
        raise ValueError("not a sha256")
    if not re.fullmatch(r"[A-Za-z0-9+/=]*", new_b64) or not re.fullmatch(r"(\d{8}T\d{6}Z)?", stamp):
        raise ValueError("bad content or stamp")
    header = (
        f"ZR_MODE={mode}\nZR_DEV={device or ''}\nZR_FILE={file}\nZR_SRC={source}\nZR_SHA={sha}\n"
        f"ZR_NEW={new_b64}\nZR_NEWSHA={new_sha}\nZR_STAMP={stamp}\n"
    )
    return header + _source()


def _content(section: Section) -> bytes:
    return base64.b64decode("".join(section.lines))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _diff(path: str, old: bytes, new: bytes) -> str:
    lines = difflib.unified_diff(
        _text(old).splitlines(keepends=True), _text(new).splitlines(keepends=True), f"a{path}", f"b{path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


async def _run(
    target: SSHTarget, trust: HostKeyTrust, script: str, limits: Limits, *, read_only: bool
) -> tuple[Report, int]:
    async with await connect(target, trust, limits) as conn:
        result = await conn.run(script, read_only=read_only, timeout_s=limits.command_timeout_s)
        round_trips = conn.round_trips
    report = Report.parse(result.text, truncated=result.truncated)
    missing = [s.arg(0) for s in report.all("missing")]
    if missing:
        raise MissingToolError(
            f"The rescue system lacks {', '.join(missing)}, which a repair needs; nothing was changed: use a rescue "
            "image that has them (coreutils, util-linux).",
            tool=missing[0],
            tools=missing,
        )
    if result.timed_out:
        raise RemoteTimeoutError(
            f"The repair script did not finish within {limits.command_timeout_s:g} s and was stopped (it unmounts on "
            "the way out); diagnose again to see the state before deciding what to do.",
            host=target.host,
            port=target.port,
        )
    if report.has("no_root"):
        raise RepairRefusedError("No Linux root was found on the instance's disks; nothing was changed.")
    roots = report.first("roots")
    if roots is not None and len(roots.args) > 1:
        raise RepairRefusedError(
            f"Several Linux roots were found ({', '.join(roots.args[:6])}); name the disk to repair. Nothing was "
            "changed."
        )
    for name, why in (
        ("gone", "is no longer there"),
        ("changed", "changed since the preview"),
        ("backup_exists", "already has a backup of this second's name"),
    ):
        if report.has(name):
            raise RepairRefusedError(f"{report.all(name)[0].arg(0)} {why}; nothing was written: preview the fix again.")
    failed = report.first("failed")
    if failed is not None or not report.has("end"):
        step = failed.arg(0) if failed else f"exit status {result.exit_status}"
        raise ScriptFailedError(
            f"The repair stopped ({step}: {result.error_text.strip()[:160]}); the file was "
            + ("not replaced" if not report.has("written") else "replaced")
            + ", and its backup (if made) is beside it: diagnose again before deciding what to do.",
            stage="repair",
            exit_status=result.exit_status,
        )
    return report, round_trips


def _file(report: Report, name: str, path: str) -> tuple[bytes, str, str]:
    section = report.first(name)
    if section is None or section.arg(1) == "absent":
        raise RepairRefusedError(f"{path} does not exist on the instance's root; nothing to change.")
    if section.arg(1) != "present":
        raise RepairRefusedError(f"{path} is larger than 256 KiB; this fix edits only small text files.")
    data = _content(section)
    if hashlib.sha256(data).hexdigest() != section.arg(5):
        raise ScriptFailedError(
            f"{path} did not arrive whole from the rescue system; nothing was changed: try again.", stage="plan"
        )
    return data, section.arg(5), f"{section.arg(2)} {section.arg(3)}"


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
    report, _ = await _run(
        target, trust, repair_script("plan", device=disk, file=path, source=source), limits, read_only=True
    )
    root = report.first("root")
    assert root is not None  # _run refused a report without one
    old, old_sha, mode = _file(report, "file", path)
    check_line: str | None = None
    if source:
        new, _, _ = _file(report, "source", source)
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
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, *, limits: Limits | None = None
) -> RepairOutcome:
    """Make the change `plan` shows, once: back up, write atomically, check again, unmount.

    Never re-run after a lost answer (`CommandOutcomeUnknownError`: diagnose again). Raises `RepairRefusedError`
    when the file changed since the plan (nothing written).
    """
    limits = limits or Limits()
    started = time.monotonic()
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
    report, round_trips = await _run(target, trust, script, limits, read_only=False)
    backups = [s.arg(0) for s in report.all("backup")]
    after, _, _ = _file(report, "after", path)
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
