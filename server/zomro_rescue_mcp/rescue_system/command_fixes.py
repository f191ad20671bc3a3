"""The repairs that run commands rather than edit a file: each a plan (read-only, the exact commands and the files
they touch) and an apply (one run of repair.sh, checked again). None makes a backup: a mode change or a new key
replaces nothing, and a backup of a truncated log would keep the space it frees.

- ssh.fix_permissions: chown/chmod of what StrictModes refuses (permissions_fix.py), never through a link;
- ssh.generate_host_keys: the instance's own `ssh-keygen -A` in a chroot; no key leaves the disk;
- disk.truncate_file: one regular file under /var/log emptied in place (owner, mode and inode kept).
"""

from __future__ import annotations

import time

from . import permissions_fix
from .connection import SSHTarget
from .filesystems import check_usage
from .limits import Limits
from .repair_models import Fix, RepairOutcome, RepairPlan
from .repair_remote import PATH_PATTERN, RepairRefusedError, repair_script, run_script
from .report import Report
from .trust import HostKeyTrust

__all__ = [
    "FIXES",
    "apply_host_keys",
    "apply_permissions",
    "apply_truncate",
    "plan_host_keys",
    "plan_permissions",
    "plan_truncate",
]


async def plan_permissions(
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


async def apply_permissions(
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


async def plan_host_keys(
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


async def apply_host_keys(
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


def _log_path(path: str | None) -> str:
    path = (path or "").strip()
    if not path.startswith("/var/log/") or not PATH_PATTERN.fullmatch(path) or "/../" in path or "/./" in path:
        raise RepairRefusedError(
            f"{path[:120]!r} is not a file under /var/log; disk.truncate_file empties one log file (give its path "
            "inside the instance's root, as the diagnosis lists the largest)."
        )
    return path


async def plan_truncate(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    path = _log_path(target_arg)
    script = repair_script("plan", device=disk, file="", stat_of=path)
    report, _ = await run_script(target, trust, script, limits, read_only=True)
    root = report.first("root")
    assert root is not None  # run_script refused a report without one
    stat = report.first("stat")
    if stat is None or stat.arg(1) != "regular":
        raise RepairRefusedError(
            f"{path} is not a regular file under the instance's /var/log (missing, a folder, or a link out of it); "
            "nothing to truncate."
        )
    size = int(stat.arg(2)) if stat.arg(2).isdigit() else 0
    if size == 0:
        raise RepairRefusedError(f"{path} is empty already; nothing to truncate.")
    return RepairPlan(
        fix="disk.truncate_file",
        target=target_arg,
        device=root.arg(0),
        scope=disk,
        files=[path],
        diff="",
        commands=[f": > {path}"],
        summary=f"Empties {path} ({size} bytes) in place (owner, mode and inode kept); no backup is kept, since a "
        "copy would keep the space used.",
    )


async def apply_truncate(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
) -> RepairOutcome:
    script = repair_script("truncate", device=plan.device, file=plan.files[0])
    report, round_trips = await run_script(target, trust, script, limits, read_only=False)
    remaining = [f for f in check_usage(report, {plan.device: "/"}) if f.kind == "disk.full"]
    done = report.has("truncated")
    return RepairOutcome(
        fix=plan.fix,
        device=plan.device,
        files_changed=plan.files if done else [],
        backups=[],
        problem_gone=done and not remaining,
        verdict="The root file system is below the full mark now."
        if done and not remaining
        else f"{remaining[0].summary if remaining else 'The file was not truncated'}; diagnose again.",
        remaining=remaining,
        round_trips=round_trips,
        elapsed_s=round(time.monotonic() - started, 2),
    )


FIXES: dict[str, Fix] = {
    "ssh.fix_permissions": Fix(
        "the owners and modes StrictModes wants on /root, .ssh and authorized_keys", plan_permissions, apply_permissions
    ),
    "ssh.generate_host_keys": Fix(
        "ssh-keygen -A, the instance's own, in a chroot: creates the missing host keys", plan_host_keys, apply_host_keys
    ),
    "disk.truncate_file": Fix(
        "empties one file under /var/log (target: its path), in place", plan_truncate, apply_truncate
    ),
}
