"""The repairs that let root back in: a valid sshd_config, a key, a password, a firewall that lets SSH through.

- ssh.restore_config: puts sshd_config's newest backup beside it (a regular `sshd_config.*` that differs from it: this
  tool's `.zomro-rescue-…`, `.bak`, `.orig`, `.dpkg-old`, `.ucf-old` …) or else the distribution's default
  (/usr/share/openssh/sshd_config) in its place; the instance's own `sshd -t -f` checks the new file in a chroot
  before the rename, and when it refuses nothing is backed up or replaced.
- ssh.add_key: appends one OpenSSH public key line (checked strictly: authorized_key.py) to root's authorized_keys,
  creating /root/.ssh (700) and the file (600, root's) when missing; the summary names the key by its fingerprint.
- account.set_root_password: the instance's own chpasswd in a chroot sets root's password (root_password.py, whose
  docstring says how the password travels and why /etc/shadow's backup is never restorable);
- firewall.allow_ssh: an accept rule for the SSH port in the firewall the diagnosis finds blocking it
  (firewall_fix.py).

The file edits (all but the password) are previewed as their exact unified diff and written by repair_access.sh the
way repair_apply.sh writes: refused if the file changed since the preview, backed up beside itself as
FILE.zomro-rescue-YYYYmmddTHHMMSSZ, written to a temporary file with the old owner and mode and renamed over it.
Each apply runs its script once; a lost answer is never followed by a second run (`CommandOutcomeUnknownError`).
"""

from __future__ import annotations

import base64
import logging
import time

from . import access_files, firewall_fix, root_password
from .authorized_key import has_key, parse_public_key
from .connection import SSHTarget
from .limits import Limits
from .repair_models import Fix, RepairOutcome, RepairPlan
from .repair_remote import RepairRefusedError, read_file
from .report import Report
from .trust import HostKeyTrust

__all__ = [
    "AUTHORIZED_KEYS",
    "FIXES",
    "SSHD_CONFIG",
    "plan_add_key",
    "plan_allow_ssh",
    "plan_restore_config",
]

log = logging.getLogger("zomro_rescue_mcp.rescue_system")

SSHD_CONFIG = "/etc/ssh/sshd_config"
AUTHORIZED_KEYS = "/root/.ssh/authorized_keys"
SHADOW = "/etc/shadow"


# --- ssh.restore_config -------------------------------------------------------------------------------------------


async def plan_restore_config(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    if target_arg not in (None, "", SSHD_CONFIG):
        raise RepairRefusedError(
            f"ssh.restore_config restores {SSHD_CONFIG} only (target: none, or that path), not {target_arg[:80]!r}; "
            "to put back another backup use file.restore_backup. Nothing was changed."
        )
    report, device = await access_files.read_root(target, trust, "sshd", limits, disk)
    old = read_file(report, "file", SSHD_CONFIG)
    origin = report.first("restore_from")
    kind, source = (origin.arg(0), origin.arg(1)) if origin else ("default", "")
    section = report.first("source")
    if section is None or section.arg(1) == "absent":
        raise RepairRefusedError(
            f"{SSHD_CONFIG} has no backup beside it (sshd_config.*) and the instance has no distribution default "
            f"({source}); nothing to restore from: edit the file by hand (run_in_rescue), then diagnose again."
        )
    new = read_file(report, "source", source)[0]
    if new == old[0]:
        raise RepairRefusedError(f"{SSHD_CONFIG} is the same as {source} already; nothing to change.")
    plan = access_files.file_plan("ssh.restore_config", target_arg, device, disk, SSHD_CONFIG, old, new)
    what = "its newest backup" if kind == "backup" else "the distribution's default"
    return plan.model_copy(
        update={
            "summary": f"Puts {what}, {source}, in place of {SSHD_CONFIG} (backed up first), if the instance's own "
            "sshd -t accepts it; otherwise nothing is replaced.",
            "extra": {"SSHD_TEST": "1"},
        }
    )


async def _check_config(plan: RepairPlan, report: Report, after: bytes | None) -> tuple[bool, str]:
    test = report.first("sshd_test")
    said = "; ".join(line for line in (test.lines if test else ()) if line.strip())[:300]
    if report.has("not_replaced") or test is None:
        status = test.arg(0) if test else "unknown"
        why = "could not run" if status == "unavailable" else f"refuses it (exit status {status})"
        return False, (
            f"Nothing was replaced: the instance's sshd -t {why}" + (f": {said}" if said else "") + ". "
            f"{SSHD_CONFIG} is as it was; edit it by hand (run_in_rescue), then diagnose again."
        )
    if after is None or after != base64.b64decode(plan.new_content_b64):
        return False, f"{SSHD_CONFIG} does not read as the restored file after the write; diagnose again."
    return True, f"The instance's sshd -t accepts {SSHD_CONFIG} now."


# --- ssh.add_key --------------------------------------------------------------------------------------------------


async def plan_add_key(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    try:
        key = parse_public_key(target_arg)
    except ValueError as refused:
        raise RepairRefusedError(str(refused)) from None
    report, device = await access_files.read_root(target, trust, "key", limits, disk)
    perms = {s.arg(0): s.arg(1) for s in report.all("perm")}
    if "link" in (perms.get("/root"), perms.get("/root/.ssh"), perms.get(AUTHORIZED_KEYS)):
        raise RepairRefusedError(
            "/root, /root/.ssh or its authorized_keys is a link; the key was not added: make them a real folder "
            "and file (run_in_rescue), then run this fix."
        )
    old = access_files.optional(report, "file", AUTHORIZED_KEYS)
    if has_key(old[0], key):
        raise RepairRefusedError(f"root's authorized_keys holds the key {key.fingerprint} already; nothing to add.")
    joiner = b"\n" if old[0] and not old[0].endswith(b"\n") else b""
    plan = access_files.file_plan(
        "ssh.add_key", None, device, disk, AUTHORIZED_KEYS, old, old[0] + joiner + key.line + b"\n"
    )
    creates = ""
    if not old[1]:
        creates = " (created root's, mode 600" + (
            ", in a new /root/.ssh, mode 700)" if perms.get("/root/.ssh") == "absent" else ")"
        )
    return plan.model_copy(
        update={
            "target": key.fingerprint,  # never the whole key, in what a log may keep
            "summary": f"Appends the {key.kind} key {key.fingerprint} to {AUTHORIZED_KEYS}{creates}.",
        }
    )


async def _check_key(plan: RepairPlan, report: Report, after: bytes | None) -> tuple[bool, str]:
    new = base64.b64decode(plan.new_content_b64)
    if after is not None and after == new:
        return True, f"root's authorized_keys holds the key {plan.target} now."
    return False, f"{AUTHORIZED_KEYS} does not read as planned after the write; diagnose again."


# --- firewall.allow_ssh -------------------------------------------------------------------------------------------


async def plan_allow_ssh(
    target: SSHTarget, trust: HostKeyTrust, target_arg: str | None, limits: Limits, disk: str | None
) -> RepairPlan:
    try:
        port = firewall_fix.parse_port(target_arg)
    except ValueError as refused:
        raise RepairRefusedError(str(refused)) from None
    report, device = await access_files.read_root(target, trust, "firewall", limits, disk)
    try:
        edit = firewall_fix.plan_edit(report, port)
    except ValueError as refused:
        raise RepairRefusedError(str(refused)) from None
    old = read_file(report, edit.section, edit.path)
    plan = access_files.file_plan("firewall.allow_ssh", target_arg, device, disk, edit.path, old, edit.new)
    return plan.model_copy(update={"summary": edit.summary})


async def _check_firewall(plan: RepairPlan, report: Report, after: bytes | None) -> tuple[bool, str]:
    # The write's own check is the file read back; the firewall is judged again as the diagnosis does, on a fresh read.
    if after is None or after != base64.b64decode(plan.new_content_b64):
        return False, f"{plan.files[0]} does not read as planned after the write; diagnose again."
    return True, ""


async def apply_allow_ssh(
    target: SSHTarget, trust: HostKeyTrust, plan: RepairPlan, limits: Limits, started: float
) -> RepairOutcome:
    outcome = await _apply_firewall_file(target, trust, plan, limits, started)
    if not outcome.problem_gone:
        return outcome
    report, _ = await access_files.read_root(target, trust, "firewall", limits, plan.device)
    remaining = firewall_fix.remaining(report, plan.target)
    return outcome.model_copy(
        update={
            "problem_gone": not remaining,
            "remaining": remaining,
            "verdict": "The firewall check no longer finds SSH blocked."
            if not remaining
            else f"The firewall check still finds SSH blocked ({remaining[0].evidence[0]}); diagnose again.",
            "round_trips": outcome.round_trips + 1,
            "elapsed_s": round(time.monotonic() - started, 2),
        }
    )


_apply_firewall_file = access_files.file_applier(_check_firewall)

FIXES: dict[str, Fix] = {
    "ssh.restore_config": Fix(
        "puts sshd_config's newest backup (or the distribution's default) back, if the instance's sshd -t accepts it",
        plan_restore_config,
        access_files.file_applier(_check_config),
    ),
    "ssh.add_key": Fix(
        "appends one public key (target: the OpenSSH public key line) to root's authorized_keys",
        plan_add_key,
        access_files.file_applier(_check_key),
    ),
    "account.set_root_password": Fix(
        "sets root's password with the instance's chpasswd (the password: given or generated, shown once)",
        root_password.plan_root_password,
        root_password.apply_root_password,
    ),
    "firewall.allow_ssh": Fix(
        "an accept rule for the SSH port (target: the port, default sshd's) in the firewall that blocks it",
        plan_allow_ssh,
        apply_allow_ssh,
    ),
}
"""The access fixes, by id."""
