"""What a repair or a command in the rescue system shows: its preview (exactly what will change, and where) and its
outcome (what changed, the backups, whether the problem is gone). Both are changes: a preview_id, the person's yes,
one execution."""

from __future__ import annotations

from pydantic import Field

from ..rescue_system import Finding
from .models import ActionResult

__all__ = ["CommandResult", "RepairResult"]


class RepairResult(ActionResult):
    """A preview (executed=false) or the outcome (executed=true) of one named fix on an instance's disk."""

    fix: str = Field(description="The fix (repair_instance's `fix`).")
    target: str | None = Field(description="What it acts on, as given.")
    device: str = Field(description="The instance's root file system in the rescue system (e.g. /dev/vdb1).")
    files: list[str] = Field(description="The files the fix changes, inside the instance's root.")
    diff: str = Field(description="The unified diff of a file edit (empty for a fix that runs commands).")
    commands: list[str] = Field(default_factory=list, description="The exact commands a fix runs (ROOT: its root).")
    files_changed: list[str] = Field(default_factory=list, description="What the fix changed (after the confirm).")
    backups: list[str] = Field(
        default_factory=list,
        description="Each changed file's backup beside it, FILE.zomro-rescue-YYYYmmddTHHMMSSZ; put one back with "
        "fix=file.restore_backup, target=its path.",
    )
    problem_gone: bool | None = Field(
        default=None, description="After the confirm: whether the check that found the problem finds it no more."
    )
    verdict: str | None = Field(default=None, description="What the check found after the fix, in a sentence.")
    remaining: list[Finding] = Field(default_factory=list, description="What the same check still finds.")
    password: str | None = Field(
        default=None,
        description="account.set_root_password: the generated root password, shown only here, once (a given one is "
        "never shown back). Hand it to the person.",
    )
    output: list[str] = Field(default_factory=list, description="The last lines the fix's program printed.")
    elapsed_s: float | None = Field(default=None, description="Seconds the confirmed fix took.")

    def bound(self) -> list[str]:
        return ["repair", self.fix, self.target or "", self.device, self.diff, *self.commands, "", *self.files]


class CommandResult(ActionResult):
    """A preview (executed=false) or the outcome (executed=true) of one command line in the rescue system."""

    command: str = Field(description="The command line, exactly as it runs.")
    chroot: bool = Field(description="True: inside the instance's own root (proc, sys, dev, devpts mounted).")
    timeout_s: int = Field(description="Its time limit, in seconds.")
    device: str | None = Field(
        default=None, description="The instance's root file system (chroot: the root; else at /mnt/zomro-root)."
    )
    exit_code: int | None = Field(default=None, description="Its exit code; null when it was stopped.")
    output: str = Field(default="", description="Its output (standard output and error), at most 16 KiB.")
    truncated: bool = Field(default=False, description="True: the output was longer, and cut at 16 KiB.")
    timed_out: bool = Field(default=False, description="True: it was stopped at its time limit.")
    elapsed_s: float | None = Field(default=None, description="Seconds it ran.")

    def bound(self) -> list[str]:
        return ["run", self.command, "chroot" if self.chroot else "rescue", str(self.timeout_s), self.device or ""]
