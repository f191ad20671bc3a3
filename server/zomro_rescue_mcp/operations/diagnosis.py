"""What diagnosing an instance means: find it in rescue mode, log in to its rescue system, and look at its disks.

A read from start to end: the instance's row (it must be rescued), then one SSH connection to its address on
ZOMRO_RESCUE_SSH_PORT as root with the rescue password this server holds (or the one given), under the host key
trusted on first use for that stay, and the rescue system's read-only diagnosis (rescue_system.diagnose). Nothing
is written on the instance's disk. The refusals before any connection: not in rescue mode, a Windows rescue image
(console only), no address, no password.
"""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, Field

from ..rescue_system import Diagnosis, Disk, Finding, Progress, RootSystem, diagnose
from .audit import AuditTrail
from .models import Instance
from .rescue import RescueService
from .rescue_access import reach
from .rescue_logins import RescueLogins
from .watch import ProgressFn

__all__ = ["DiagnoseResult", "diagnose_instance"]

log = logging.getLogger("zomro_rescue_mcp.diagnosis")


class DiagnoseResult(BaseModel):
    """A read-only look at an instance's own disks from its rescue system."""

    kind: Literal["diagnosis"] = "diagnosis"
    instance_id: int
    account: str | None = Field(default=None, description="The configured account this is about.")
    address: str = Field(description="Where the rescue system answered (the instance's address).")
    port: int
    host_key: str = Field(description="The rescue system's SSH host key (SHA256:…), trusted for this rescue stay.")
    host_key_first_use: bool = Field(description="True: the key was seen for the first time in this stay, and pinned.")
    disks: list[Disk] = Field(description="The disks found beside the rescue system's own.")
    root: RootSystem | None = Field(description="The instance's root file system; null when no disk holds one.")
    findings: list[Finding] = Field(description="What is wrong, critical first; each names the fix that repairs it.")
    notes: list[str] = Field(default_factory=list, description="What could not be checked, and why.")
    summary: str
    next_step: str


async def diagnose_instance(
    service: RescueService,
    logins: RescueLogins,
    instance_id: int,
    *,
    audit: AuditTrail,
    rescue_password: str | None = None,
    port: int = 22,
    on_progress: ProgressFn | None = None,
) -> DiagnoseResult:
    """Diagnose the instance from its rescue system (reads only; nothing is written on its disk)."""
    account = service.account
    reached = await reach(service, logins, instance_id, rescue_password, port)
    instance, address, target = reached.instance, reached.address, reached.target

    async def progress(step: Progress) -> None:
        if on_progress is not None:
            await on_progress(step.step, step.total, step.message)

    log.info("diagnosing instance %d from its rescue system at %s:%d", instance_id, address, port)
    with audit.attempt(
        "diagnose_instance", instance_id, confirmed=False, approval="not_required", account=account
    ) as attempt:
        found = await diagnose(target, logins.trust, on_progress=progress)
        attempt.host_key(found.host_key.fingerprint)
        attempt.unsent = "diagnosis"
    return _result(instance, address, port, found, account)


def _result(instance: Instance, address: str, port: int, found: Diagnosis, account: str | None) -> DiagnoseResult:
    critical = [f for f in found.findings if f.severity == "critical"]
    if found.root is None:
        summary = f"No disk of instance {instance.id} holds a Linux root file system."
    elif not found.findings:
        summary = f"Nothing wrong was found on instance {instance.id}'s disk ({found.root.device})."
    else:
        summary = (
            f"{len(found.findings)} finding(s) on instance {instance.id}'s disk ({found.root.device}), "
            f"{len(critical)} critical."
        )
    fixes = sorted({f.fix for f in found.findings if f.fix})
    next_step = (
        "Show the findings to the person. For each, preview its fix with repair_instance (fix and target as the "
        "finding names them: " + ", ".join(fixes) + "), show the diff, and confirm only after the person's yes; "
        "then diagnose again, and leave rescue mode with exit_rescue, which checks that the instance answers."
        if fixes
        else "Show this to the person; when they are done, leave rescue mode with exit_rescue."
    )
    return DiagnoseResult(
        instance_id=instance.id,
        account=account,
        address=address,
        port=port,
        host_key=found.host_key.fingerprint,
        host_key_first_use=found.host_key.first_use,
        disks=found.disks,
        root=found.root,
        findings=found.findings,
        notes=found.notes,
        summary=summary,
        next_step=next_step,
    )
