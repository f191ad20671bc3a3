"""What a repair plan and its outcome hold (repairs.py makes them; the MCP tool and the CLI show them), and what a
fix is: its description, its planner and its applier (each fix module lists its own in `FIXES`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from .connection import SSHTarget
from .findings import Finding
from .limits import Limits
from .trust import HostKeyTrust

__all__ = ["Applier", "Fix", "Planner", "RepairOutcome", "RepairPlan"]


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
    extra: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)  # a mode's own values (ZR_X_…)


class RepairOutcome(BaseModel):
    """What a repair did, and whether the problem it fixes is gone."""

    fix: str
    device: str
    files_changed: list[str]
    backups: list[str] = Field(description="Each changed file's backup, beside it (restore with file.restore_backup).")
    problem_gone: bool = Field(description="Whether the check that found the problem finds it no more.")
    verdict: str
    remaining: list[Finding] = Field(default_factory=list, description="What the same check still finds.")
    password: str | None = Field(
        default=None, description="account.set_root_password: the password set, shown only here, once."
    )
    output: list[str] = Field(default_factory=list, description="What the fix's program said, its last lines.")
    round_trips: int
    elapsed_s: float


Planner = Callable[[SSHTarget, HostKeyTrust, str | None, Limits, str | None], Awaitable[RepairPlan]]
"""plan(target, trust, target_arg, limits, disk): reads only, raises RepairRefusedError when the fix does not apply."""

Applier = Callable[[SSHTarget, HostKeyTrust, RepairPlan, Limits, float], Awaitable[RepairOutcome]]
"""apply(target, trust, plan, limits, started): the change, once (never re-run after a lost answer)."""


@dataclass(frozen=True)
class Fix:
    """One named fix: what it does (for the tool's description and refusals), its planner and its applier."""

    does: str
    plan: Planner
    apply: Applier
