"""The bounds every SSH session and remote command keeps, in one frozen object."""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    """Time and size limits. The remote side enforces the time limits too (`timeout`), so a lost client never leaves
    a command running; the client waits `grace_s` longer than the remote limit before it gives up on an answer."""

    connect_timeout_s: float = 45.0  # TCP, key exchange and login (a rescue VM under emulation is slow to kex)
    command_timeout_s: float = 60.0  # one remote command, unless the caller names another
    diagnosis_timeout_s: float = 300.0  # the whole diagnosis script, file-system checks included
    fsck_timeout_s: float = 120.0  # one `e2fsck -n` / `xfs_repair -n` inside the diagnosis
    max_output_bytes: int = 512 * 1024  # standard output kept per command; the rest is read and dropped
    max_stderr_bytes: int = 16 * 1024  # standard error kept per command
    grace_s: float = 20.0  # how much longer than the remote limit the client waits for the answer
    kill_after_s: int = 15  # after the remote limit, how long `timeout` waits before SIGKILL (the cleanup's time)

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) <= 0:
                raise ValueError(f"Limits.{f.name} must be positive")
