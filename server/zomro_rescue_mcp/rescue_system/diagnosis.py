"""The diagnosis: one connection, one script sent once, one report turned into findings.

`diagnose(target, trust)` is the whole of it for a caller (the operations layer, the CLI, the MCP tool): it connects
(checking the host key against the rescue session's trust), runs diagnose.sh under the limits, reports each stage to
`on_progress` as the script reaches it, and reads the report (`read_report`, also usable on its own). It writes
nothing on the instance's disks.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from .boot import check_boot
from .connection import SSHTarget, connect
from .disks import Disk, read_disks
from .errors import MissingToolError, RemoteTimeoutError, ScriptFailedError
from .filesystems import check_fsck, check_usage
from .findings import Finding, ordered
from .firewall import check_firewall
from .fstab import check_fstab
from .journal import check_journal
from .limits import Limits
from .logins import check_permissions, check_root_account
from .report import Report
from .script import STAGES, diagnosis_script
from .sshd import check_host_keys, check_sshd, read_config
from .trust import HostKeyTrust

__all__ = ["Diagnosis", "HostKey", "Progress", "ProgressCallback", "RootSystem", "diagnose", "read_report"]

log = logging.getLogger("zomro_rescue_mcp.rescue_system")


class HostKey(BaseModel):
    fingerprint: str = Field(description="The rescue system's SSH host key, SHA256:…")
    first_use: bool = Field(description="Whether this connection was the first of the rescue session (key pinned now).")


class RootSystem(BaseModel):
    """The instance's root file system, as found on its disks."""

    device: str
    fstype: str | None = None
    subvolume: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    kernels: list[str] = Field(default_factory=list, description="Kernel versions in /boot, newest first.")


class Diagnosis(BaseModel):
    """What a read-only look at the instance's disks from the rescue system found."""

    host_key: HostKey
    disks: list[Disk]
    root: RootSystem | None = Field(description="The instance's root; null when no disk holds a Linux root.")
    findings: list[Finding] = Field(description="Problems, critical first.")
    notes: list[str] = Field(description="What could not be checked, and why; what was left out.")
    round_trips: int = Field(description="Remote commands run (the diagnosis is one script).")
    elapsed_s: float


@dataclass(frozen=True)
class Progress:
    stage: str
    step: int
    total: int
    message: str


ProgressCallback = Callable[[Progress], Awaitable[None] | None]
_ORDER = list(STAGES)


def read_report(
    report: Report, *, fsck_timeout_s: float = Limits.fsck_timeout_s, only: str | None = None
) -> tuple[list[Disk], RootSystem | None, list[Finding], list[str]]:
    """The disks, the root, the findings (critical first) and the notes of a diagnosis script's report."""
    inventory = read_disks(report, only=only)
    findings: list[Finding] = []
    notes: list[str] = []
    absent = {s.arg(0) for s in report.all("absent")}
    pvs = [d.device for d in inventory.disks if d.role == "instance" and d.fstype == "LVM2_member"]
    if pvs and absent & {"lvs", "vgchange"}:
        notes.append(f"The rescue system has no LVM tools: the volumes on {', '.join(pvs[:4])} were not examined.")
    fsck_findings, fsck_notes = check_fsck(report, fsck_timeout_s)
    findings += fsck_findings
    notes += fsck_notes
    for section in report.all("mount_failed"):
        detail = section.lines[0] if section.lines else ""
        notes.append(f"{section.arg(0)} could not be mounted read-only ({section.arg(1)}): {detail}"[:240])
    for section in report.all("lvm_failed"):
        notes.append(
            f"The LVM volume group {section.arg(0)} could not be activated: {' '.join(section.lines[:1])}"[:240]
        )
    roots = [s.arg(0) for s in report.all("linux_root")]
    root_section = report.first("root")
    root: RootSystem | None = None
    if root_section is None:
        instance = [d for d in inventory.disks if d.role == "instance"]
        if not instance:
            notes.append(
                "The rescue system sees no disk of the instance besides its own"
                + (f" (none is {only})" if only else "")
                + ": a volume-backed instance cannot be rescued this way."
            )
        else:
            seen = "; ".join(f"{d.device}: {d.note}" for d in instance if d.note)[:300]
            notes.append(f"No Linux root was found on the instance's disks ({seen or 'no file system'}).")
    else:
        device = root_section.arg(0)
        disk = inventory.device(device)
        subvolume = next((s.arg(1) for s in report.all("linux_root") if s.arg(0) == device), "/")
        root = RootSystem(
            device=device, fstype=disk.fstype if disk else None, subvolume=None if subvolume == "/" else subvolume
        )
        _os_release(report, root)
        if len(roots) > 1:
            notes.append(
                f"Several Linux roots were found ({', '.join(roots[:6])}); {device} was examined, ask for "
                "another disk to examine it."
            )
        fstab = report.first("fstab")
        watched = {device: "/"}
        if fstab is None:
            notes.append("The instance's /etc/fstab could not be read.")
        else:
            fstab_findings, fstab_notes, mounted = check_fstab(fstab.text, inventory)
            findings += fstab_findings
            notes += fstab_notes
            watched = {**mounted, device: "/"}
        findings += check_usage(report, watched)
        boot_findings, boot_notes, root.kernels = check_boot(report)
        findings += boot_findings
        notes += boot_notes
        config = read_config(report)
        sshd_findings, sshd_notes = check_sshd(report, config)
        findings += sshd_findings
        notes += sshd_notes
        findings += check_host_keys(report, config)
        findings += check_permissions(report, config)
        findings += check_root_account(report, config)
        firewall_findings, firewall_notes = check_firewall(report, config.ports())
        findings += firewall_findings
        notes += firewall_notes
        journal_findings, journal_notes = check_journal(report)
        findings += journal_findings
        notes += journal_notes
    notes += _leftovers(report)
    if report.truncated:
        notes.append("The report went past its size limit and was cut: some checks may be missing.")
    return inventory.disks, root, ordered(findings), notes


def _os_release(report: Report, root: RootSystem) -> None:
    section = report.first("os_release")
    values: dict[str, str] = {}
    for line in section.lines if section else ():
        key, _, value = line.partition("=")
        values[key] = value.strip().strip("\"'")
    root.os_name = values.get("NAME") or values.get("ID") or None
    root.os_version = values.get("VERSION_ID") or values.get("VERSION") or None


def _leftovers(report: Report) -> list[str]:
    notes = []
    for section in report.all("left_mounted"):
        notes.append(f"Left mounted on the rescue system: {' '.join(section.lines)} (unmount it before a repair).")
    for section in report.all("left_active"):
        notes.append(f"The LVM volume group {section.arg(0)} could not be deactivated again.")
    for section in report.all("left_readonly"):
        notes.append(f"{section.arg(0)} could not be set writable again (reboot the rescue system before a repair).")
    if report.has("stage") and not report.has("done"):
        notes.append("The diagnosis did not report its cleanup: check that nothing is left mounted before a repair.")
    return notes


async def diagnose(
    target: SSHTarget,
    trust: HostKeyTrust,
    *,
    on_progress: ProgressCallback | None = None,
    limits: Limits | None = None,
    disk: str | None = None,
) -> Diagnosis:
    """Examine the instance's disks from its rescue system, read-only, in one connection and one remote command.

    `disk` restricts the search to one device (e.g. /dev/vdc) when several disks hold a Linux root. Raises
    `RescueSystemError`s: unreachable, login refused, host key changed, missing tool, timeout, script failed.
    """
    limits = limits or Limits()
    script = diagnosis_script(fsck_timeout_s=limits.fsck_timeout_s, only=disk)
    started = time.monotonic()

    async def report_stage(stage: str) -> None:
        if on_progress is None or stage not in STAGES:
            return
        done = on_progress(Progress(stage, _ORDER.index(stage) + 1, len(_ORDER), STAGES[stage]))
        if inspect.isawaitable(done):
            await done

    reached = ["connect"]

    async def on_line(line: str) -> None:
        if line.startswith("@@stage "):
            reached.append(line[8:].strip())
            await report_stage(reached[-1])

    await report_stage("connect")
    async with await connect(target, trust, limits) as conn:
        result = await conn.run(
            script,
            read_only=True,
            timeout_s=limits.diagnosis_timeout_s,
            max_output=limits.max_output_bytes,
            on_line=on_line,
        )
        host_key = HostKey(fingerprint=conn.fingerprint, first_use=conn.first_use)
        round_trips = conn.round_trips
    report = Report.parse(result.text, truncated=result.truncated)
    missing = [s.arg(0) for s in report.all("missing")]
    if missing:
        raise MissingToolError(
            f"The rescue system lacks {', '.join(missing)}, which the diagnosis needs; use a rescue image that has "
            "them (util-linux, coreutils, grep, gawk or busybox), or look at the disk from the console.",
            tool=missing[0],
            tools=missing,
        )
    stage = STAGES.get(reached[-1], reached[-1])
    if result.timed_out:
        raise RemoteTimeoutError(
            f"The diagnosis did not finish within {limits.diagnosis_timeout_s:g} s (it was at: {stage.lower()}); "
            "the rescue system stopped it and unmounted what it had mounted"
            + ("" if report.has("done") else " (its cleanup did not report back: check before a repair)")
            + ". Try again with a longer limit.",
            stage=reached[-1],
        )
    if not report.has("end"):
        first = result.error_text.strip().splitlines()[:1]
        raise ScriptFailedError(
            f"The diagnosis stopped while {stage.lower()} (exit status {result.exit_status})"
            + (f": {first[0][:200]}" if first else "")
            + "; nothing was changed. Try again, and look at the instance from the console if it happens again.",
            stage=reached[-1],
            exit_status=result.exit_status,
        )
    await report_stage("report")
    disks, root, findings, notes = read_report(report, fsck_timeout_s=limits.fsck_timeout_s, only=disk)
    log.info("diagnosis: %d findings, %d round trips, %.1f s", len(findings), round_trips, time.monotonic() - started)
    return Diagnosis(
        host_key=host_key,
        disks=disks,
        root=root,
        findings=findings,
        notes=notes,
        round_trips=round_trips,
        elapsed_s=round(time.monotonic() - started, 2),
    )
