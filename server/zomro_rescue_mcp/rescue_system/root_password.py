"""account.set_root_password: the instance's own chpasswd in a chroot sets root's password; an entry locked with `!` is
unlocked.

The password comes from `apply_repair(password=…)` (the caller checks it against the product's rules or generates
it) as the plan's PASSWORD_B64: it is registered with core.redact for the logs, travels only inside the script on the
SSH channel's standard input (decoded there into chpasswd's standard input, never an argument), and comes back once,
in `RepairOutcome.password`. /etc/shadow is backed up beside itself first (mode at most 600), as every changed file
is; since it holds hashes its content is never read back or reported, and file.restore_backup refuses its backups (a
hash must not travel through a preview's diff): put one back by hand (run_in_rescue) if ever needed.
"""

from __future__ import annotations

import base64
import binascii
import logging
import time

from ..core import redact
from . import access_files
from .connection import SSHTarget
from .limits import Limits
from .repair_models import RepairOutcome, RepairPlan
from .repair_remote import RepairRefusedError, repair_script, run_script
from .trust import HostKeyTrust

__all__ = ["SHADOW", "apply_root_password", "plan_root_password"]

log = logging.getLogger("zomro_rescue_mcp.rescue_system")

SHADOW = "/etc/shadow"


async def plan_root_password(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    if target_arg not in (None, "", "root"):
        raise RepairRefusedError(
            f"account.set_root_password sets root's password only (target: none, or root), not {target_arg[:60]!r}; "
            "nothing was changed."
        )
    report, device = await access_files.read_root(target, trust, "password", limits, disk)
    state = report.first("password")
    if state is None or state.arg(0) in ("no_shadow", "unknown"):
        raise RepairRefusedError(
            "The instance has no /etc/shadow, or no root entry in it; the password was not set: check the account "
            "files by hand (run_in_rescue)."
        )
    tool = report.first("chpasswd")
    if tool is None or tool.arg(0) != "present":
        raise RepairRefusedError(
            "The instance has no /usr/sbin/chpasswd (the passwd package); the password was not set: install it in a "
            "chroot, or add a key with ssh.add_key instead."
        )
    commands = [
        "cp -p /etc/shadow /etc/shadow.zomro-rescue-STAMP; chmod go-rwx it",
        "mount proc, /dev (bind) and a tmpfs run in ROOT",
        "chroot ROOT /usr/sbin/chpasswd  (root:PASSWORD on its standard input)",
    ]
    if state.arg(1) == "bang":
        commands.append("chroot ROOT /usr/sbin/usermod -U root")
    return RepairPlan(
        fix="account.set_root_password",
        target=target_arg,
        device=device,
        scope=disk,
        files=[SHADOW],
        diff="",
        commands=commands,
        summary=f"Sets root's password (now {state.arg(0)}) with the instance's own chpasswd; /etc/shadow is "
        "backed up beside itself first (its content never shown, not restorable through file.restore_backup). The "
        "password is shown once, in the outcome.",
    )


async def apply_root_password(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
) -> RepairOutcome:
    encoded = plan.extra.get("PASSWORD_B64", "")
    try:
        password = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        password = ""
    if not password:
        raise RepairRefusedError(
            "account.set_root_password needs the password to set (apply_repair's password); nothing was changed."
        )
    redact.register_for_logs(password)  # shown once, in the outcome; no log line may hold it
    redact.register_for_logs(encoded)
    if any(c in password for c in "\n\r\0"):
        raise RepairRefusedError(
            "The password holds a line break or a NUL character, which chpasswd cannot take; nothing was changed: "
            "choose another."
        )
    script = repair_script(
        "access",
        device=plan.device,
        file="",
        stamp=access_files.stamp(),
        extra={"ACT": "password", "PASSWORD_B64": encoded},
    )
    report, round_trips = await run_script(target, trust, script, limits, read_only=False)
    state = report.first("password")
    status = report.first("chpasswd_status")
    said = [redact.scrub(line, for_log=True) for line in (status.lines if status else ())]
    gone = state is not None and state.arg(0) == "set" and status is not None and status.arg(0) == "0"
    verdict = (
        "root's password is set and not locked now: root can log in with it."
        if gone
        else f"root's password is still {state.arg(0) if state else 'unknown'} (chpasswd exit status "
        f"{status.arg(0) if status else 'unknown'}{': ' + said[0][:160] if said else ''}); diagnose again."
    )
    backups = [s.arg(0) for s in report.all("backup")]
    log.info("repair %s on %s: %s, backups %s", plan.fix, plan.device, "gone" if gone else "not gone", backups)
    return RepairOutcome(
        fix=plan.fix,
        device=plan.device,
        files_changed=[SHADOW] if report.has("written") else [],
        backups=backups,
        problem_gone=gone,
        verdict=verdict,
        password=password if report.has("written") else None,
        output=said,
        round_trips=round_trips,
        elapsed_s=round(time.monotonic() - started, 2),
    )
