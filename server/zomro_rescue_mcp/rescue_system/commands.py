"""One command line, confirmed by the user, run on the rescue system for what the named fixes do not cover.

Where it runs (`run_command`):
- `chroot=True`: inside the instance's own root (`chroot ROOT /bin/sh -c COMMAND`), mounted read-write, with /proc,
  /sys, /dev (bound) and /dev/pts (bound) mounted for it; the command sees the instance as `/`;
- `chroot=False`: in the rescue system itself (`sh`), with the instance's root mounted read-write and bound at
  `/mnt/zomro-root` (`ROOT_PATH`), which is also its working folder; `$ZOMRO_ROOT` names the root in both cases.
Only the root file system is mounted (not a separate /boot or /var of the instance's fstab). Everything mounted for
the command is unmounted when it ends, also when its time limit stopped it (repair.sh's trap); what stayed mounted
is reported (`left_mounted`).

The command reaches the rescue system in base64 with its sha256, decoded into a file there: it is never part of the
script's text. Its standard output and error (interleaved) keep their first 16 KiB; the rest is read and dropped, so
the command itself is not stopped by its output. Its own limit is `timeout_s` (a remote `timeout`, TERM and KILL 5 s
later, to its whole process group); the connection waits `Limits.command_timeout_s` longer for the mounts and the
cleanup. Anything the command leaves running in the background when it ends is stopped; a process that leaves its
process group (`setsid`) and keeps the output open holds the answer until the connection's limit.

Every command counts as a change: a lost answer is `CommandOutcomeUnknownError`, and the command is never run again.
"""

from __future__ import annotations

import base64
import hashlib
import time

from pydantic import BaseModel, ConfigDict, Field

from .connection import LineHandler, SSHTarget, connect
from .errors import MissingToolError, RescueSystemError, ScriptFailedError
from .limits import Limits
from .repair_remote import repair_script, run_script
from .report import Report
from .script import DISK_PATTERN
from .trust import HostKeyTrust

__all__ = [
    "MAX_COMMAND_CHARS",
    "MAX_OUTPUT_BYTES",
    "MAX_TIMEOUT_S",
    "ROOT_PATH",
    "CommandRefusedError",
    "CommandRun",
    "check_command",
    "command_script",
    "locate_root",
    "read_run",
    "run_command",
]

MAX_COMMAND_CHARS = 2000
MAX_TIMEOUT_S = 300
MAX_OUTPUT_BYTES = 16 * 1024
ROOT_PATH = "/mnt/zomro-root"  # where the instance's root is bound for a command run without chroot
_REPORT_CAP = 640 * 1024  # the disks' listing (up to 2 × 256 KiB), then the output in base64
_STEPS = {
    "run": "Running the command",
    "report": "The command ended; reading its output",
    "cleanup": "Unmounting what was mounted for the command",
}


class CommandRefusedError(RescueSystemError):
    """The command was not run: it is not one acceptable command line, or there is nowhere to run it."""

    kind = "rescue.command_refused"


class CommandRun(BaseModel):
    """What one command line did on the rescue system."""

    model_config = ConfigDict(frozen=True)

    command: str
    chroot: bool  # True: inside the instance's root; False: in the rescue system, the root at `root_path`
    device: str  # the instance's root device, mounted read-write for the command either way
    root_path: str  # where the command finds the instance's root: "/" in the chroot, else ROOT_PATH
    exit_code: int | None  # None when its time limit stopped it
    output: str  # standard output and error interleaved, at most MAX_OUTPUT_BYTES bytes, decoded with replacement
    truncated: bool  # the output was longer; the rest was dropped
    timed_out: bool  # its time limit stopped it (the output is what it wrote until then)
    left_mounted: list[str] = Field(default_factory=list)  # what could not be unmounted afterwards (normally none)
    elapsed_s: float
    round_trips: int


def check_command(command: str, timeout_s: int, disk: str | None = None) -> None:
    """Refuse (nothing sent) a command that is not one line of 1 to 2000 characters, or a limit outside 1–300 s."""
    if not isinstance(command, str) or not command.strip():
        raise CommandRefusedError(
            "The command is empty; nothing was run: give one command line of 1 to 2000 characters."
        )
    if len(command) > MAX_COMMAND_CHARS:
        raise CommandRefusedError(
            f"The command has {len(command)} characters, more than {MAX_COMMAND_CHARS}; nothing was run: shorten it, "
            "or write the longer work into a script on the instance's disk first and run that."
        )
    if any(c in command for c in "\n\r\0"):
        raise CommandRefusedError(
            "The command holds a line break or a NUL character; nothing was run: give one command line, joining "
            "its steps with `;` or `&&`."
        )
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, int) or not 1 <= timeout_s <= MAX_TIMEOUT_S:
        raise CommandRefusedError(
            f"The time limit {timeout_s!r} is not a whole number of seconds from 1 to {MAX_TIMEOUT_S}; nothing was "
            "run: choose a limit within it."
        )
    if disk is not None and not DISK_PATTERN.fullmatch(disk):
        raise CommandRefusedError(
            f"{disk[:80]!r} is not a device path such as /dev/vdb; nothing was run: name the instance's disk as "
            "the diagnosis lists it."
        )


def command_script(command: str, *, chroot: bool, timeout_s: int, disk: str | None = None) -> str:
    """repair.sh and repair_run.sh with the command (base64, and its sha256) and its limit set, checked first."""
    check_command(command, timeout_s, disk)
    data = command.encode("utf-8")
    extra = {
        "CMD_B64": base64.b64encode(data).decode("ascii"),
        "CMD_SHA": hashlib.sha256(data).hexdigest(),
        "CHROOT": "1" if chroot else "0",
        "TIMEOUT": str(timeout_s),
    }
    return repair_script("run", device=disk, file="", extra=extra)


def read_run(report: Report, *, command: str, chroot: bool, exit_status: int | None, stderr: str) -> CommandRun:
    """The run the report tells of (elapsed_s and round_trips 0: the caller sets them), or why nothing ran."""
    missing = [s.arg(0) for s in report.all("missing")]
    if missing:
        raise MissingToolError(
            f"The rescue system lacks {', '.join(missing)}, which running a command needs; nothing was run: use a "
            "rescue image that has them (coreutils, util-linux).",
            tool=missing[0],
            tools=missing,
        )
    if report.has("no_root"):
        raise CommandRefusedError("No Linux root was found on the instance's disks; nothing was run.")
    roots = report.first("roots")
    if roots is not None and len(roots.args) > 1:
        raise CommandRefusedError(
            f"Several Linux roots were found ({', '.join(roots.args[:6])}); nothing was run: name the disk to run "
            "the command on."
        )
    if report.has("no_shell"):
        raise CommandRefusedError(
            "The instance's root has no /bin/sh to run the command in a chroot; nothing was run: run it without "
            f"chroot, where the root is at {ROOT_PATH}."
        )
    if (hole := report.first("no_mountpoint")) is not None:
        raise CommandRefusedError(
            f"The instance's root has no folder {hole.arg(0)} (or it is a link) to mount for a chroot; nothing was "
            f"run: run the command without chroot, where the root is at {ROOT_PATH}."
        )
    if report.has("busy"):
        raise CommandRefusedError(
            f"{ROOT_PATH} is already in use on the rescue system (another command may still run there); nothing "
            "was run: try again once it is free."
        )
    ran = report.has("stage") and any(s.arg(0) == "run" for s in report.all("stage"))
    ended, output, root = report.first("exit"), report.first("output"), report.first("root")
    if ended is None or output is None or root is None or not ended.arg(0).isdigit():
        failed = report.first("failed")
        step = failed.arg(0) if failed else f"exit status {exit_status}"
        if not ran:
            raise ScriptFailedError(
                f"Preparing the command stopped ({step}: {stderr.strip()[:160]}); nothing was run: diagnose again "
                "before deciding what to do.",
                stage="run",
                exit_status=exit_status,
            )
        raise ScriptFailedError(
            f"The command started but its report did not come back whole ({step}): it may have run, and it is not "
            "run again; check the state (diagnose again) before deciding what to do.",
            stage="run",
            exit_status=exit_status,
        )
    kept = base64.b64decode("".join(output.lines))
    dropped = output.arg(1, "0")
    timed_out = report.has("timed_out")
    return CommandRun(
        command=command,
        chroot=chroot,
        device=root.arg(0),
        root_path="/" if chroot else ROOT_PATH,
        exit_code=None if timed_out else int(ended.arg(0)),
        output=kept[:MAX_OUTPUT_BYTES].decode("utf-8", "replace"),
        truncated=len(kept) > MAX_OUTPUT_BYTES or (dropped.isdigit() and int(dropped) > 0),
        timed_out=timed_out,
        left_mounted=[line for s in report.all("left_mounted") for line in s.lines],
        elapsed_s=0.0,
        round_trips=0,
    )


async def locate_root(
    target: SSHTarget, trust: HostKeyTrust, *, limits: Limits | None = None, disk: str | None = None
) -> str:
    """The instance's root device (e.g. "/dev/vdb1"), found read-only: where a command would run."""
    if disk is not None and not DISK_PATTERN.fullmatch(disk):
        raise CommandRefusedError(
            f"{disk[:80]!r} is not a device path such as /dev/vdb; nothing was read: name the instance's disk as "
            "the diagnosis lists it."
        )
    script = repair_script("plan", device=disk, file="")
    report, _ = await run_script(target, trust, script, limits or Limits(), read_only=True)
    root = report.first("root")
    assert root is not None  # run_script refused a report without one
    return root.arg(0)


async def run_command(
    target: SSHTarget,
    trust: HostKeyTrust,
    command: str,
    *,
    chroot: bool,
    timeout_s: int,
    disk: str | None = None,
    limits: Limits | None = None,
    on_line: LineHandler | None = None,
) -> CommandRun:
    """Run one command line on the rescue system, once (see the module's docstring for where and how).

    `on_line` receives each step as a sentence ("Running the command", …). A lost answer raises
    `CommandOutcomeUnknownError` and the command is not run again.
    """
    script = command_script(command, chroot=chroot, timeout_s=timeout_s, disk=disk)
    limits = limits or Limits()
    started = time.monotonic()

    async def step(line: str) -> None:
        if on_line is not None and line.startswith("@@stage ") and line[8:].strip() in _STEPS:
            await on_line(_STEPS[line[8:].strip()])

    async with await connect(target, trust, limits) as conn:
        result = await conn.run(
            script,
            read_only=False,
            timeout_s=timeout_s + limits.command_timeout_s,
            max_output=max(_REPORT_CAP, limits.max_output_bytes),
            on_line=step,
        )
        round_trips = conn.round_trips
    report = Report.parse(result.text, truncated=result.truncated)
    run = read_run(report, command=command, chroot=chroot, exit_status=result.exit_status, stderr=result.error_text)
    return run.model_copy(update={"elapsed_s": round(time.monotonic() - started, 2), "round_trips": round_trips})
