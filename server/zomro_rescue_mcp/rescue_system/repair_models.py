"""What a repair plan and its outcome hold (repairs.py makes them; the MCP tool and the CLI show them)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from .findings import Finding

__all__ = ["RepairOutcome", "RepairPlan"]


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
