"""What a diagnosis found: one `Finding` per problem, of a fixed set of kinds, each naming the repair that fixes it."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, Field

__all__ = [
    "FINDING_KINDS",
    "FIXES",
    "MAX_EVIDENCE_CHARS",
    "MAX_EVIDENCE_LINES",
    "Finding",
    "FindingKind",
    "Severity",
    "finding",
    "ordered",
]

Severity = Literal["critical", "warning", "info"]
FindingKind = Literal[
    "fstab.unknown_device",
    "fstab.invalid_line",
    "disk.full",
    "disk.inodes_full",
    "fs.errors",
    "boot.no_kernel",
    "boot.empty_initramfs",
    "ssh.config_invalid",
    "ssh.host_keys_missing",
    "ssh.bad_permissions",
    "account.root_locked",
    "firewall.blocks_ssh",
    "journal.errors",
]
FINDING_KINDS: tuple[FindingKind, ...] = get_args(FindingKind)

# Each kind's usual severity and the repair (repair_instance's `fix` ids) that fixes it; null where no repair applies.
FIXES: dict[FindingKind, tuple[Severity, str | None]] = {
    "fstab.unknown_device": ("critical", "fstab.add_nofail"),
    "fstab.invalid_line": ("warning", "fstab.comment_out"),
    "disk.full": ("critical", "disk.vacuum_journal"),
    "disk.inodes_full": ("critical", None),
    "fs.errors": ("critical", "fs.repair"),
    "boot.no_kernel": ("critical", None),
    "boot.empty_initramfs": ("critical", "boot.rebuild_initramfs"),
    "ssh.config_invalid": ("critical", "ssh.restore_config"),
    "ssh.host_keys_missing": ("critical", "ssh.generate_host_keys"),
    "ssh.bad_permissions": ("warning", "ssh.fix_permissions"),
    "account.root_locked": ("warning", "account.set_root_password"),
    "firewall.blocks_ssh": ("critical", "firewall.allow_ssh"),
    "journal.errors": ("warning", None),
}
MAX_EVIDENCE_LINES = 20
MAX_EVIDENCE_CHARS = 200
_RANK = {"critical": 0, "warning": 1, "info": 2}


class Finding(BaseModel):
    """One problem seen on the instance's disk."""

    kind: FindingKind
    severity: Severity
    summary: str = Field(description="What was seen, in a short line.")
    evidence: list[str] = Field(description="The lines or values seen (bounded); never a secret or a hash.")
    fix: str | None = Field(description="The repair that fixes it (repair_instance's `fix`), or null.")
    target: str | None = Field(
        default=None, description="What the fix acts on (its `target`): the fstab line, the device, the file."
    )


def _bound(line: str) -> str:
    line = line.replace("\t", " ").rstrip()
    return line if len(line) <= MAX_EVIDENCE_CHARS else line[: MAX_EVIDENCE_CHARS - 1] + "…"


def finding(
    kind: FindingKind,
    summary: str,
    evidence: list[str],
    *,
    target: str | None = None,
    severity: Severity | None = None,
    fix: str | Literal[False] | None = False,
) -> Finding:
    """A finding with the kind's usual severity and repair (unless given), its evidence bounded."""
    usual, usual_fix = FIXES[kind]
    lines = [_bound(line) for line in evidence[:MAX_EVIDENCE_LINES]]
    if len(evidence) > MAX_EVIDENCE_LINES:
        lines[-1] = f"… and {len(evidence) - MAX_EVIDENCE_LINES + 1} more"
    return Finding(
        kind=kind,
        severity=severity or usual,
        summary=_bound(summary),
        evidence=lines,
        fix=usual_fix if fix is False else fix,
        target=target,
    )


def ordered(findings: list[Finding]) -> list[Finding]:
    """Critical first, then warnings, then the rest; the order of the checks within each."""
    return sorted(findings, key=lambda f: _RANK[f.severity])
