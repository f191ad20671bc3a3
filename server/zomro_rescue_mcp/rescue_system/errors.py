"""What can go wrong inside the rescue system, one class per thing the caller does differently.

    ZomroError                      (zomro_rescue_mcp.core.errors)
     └── RescueSystemError          rescue.*: something about the rescue system or the SSH session to it
          ├── UnreachableError      rescue.unreachable: nothing (or not SSH) answered on the port
          ├── LoginRefusedError     rescue.login_refused: the rescue system refused root's password
          ├── HostKeyChangedError   rescue.host_key_changed: a different host key within one rescue session
          ├── MissingToolError      rescue.missing_tool: the rescue system lacks a program the work needs
          ├── RemoteTimeoutError    rescue.timeout: a command did not finish within its limit
          ├── ConnectionLostError   rescue.connection_lost: the answer of a read-only command was lost
          ├── ScriptFailedError     rescue.script_failed: the diagnosis script stopped without its report
          └── CommandOutcomeUnknownError  outcome_unknown: a changing command's answer was lost; never re-run

Each message is one sentence (or two) saying what happened and what to do next; it never holds the password.
`facts` hold the host, the port and what the error is about, for callers that decide on data.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import OutcomeUnknownError, ZomroError

__all__ = [
    "CommandOutcomeUnknownError",
    "ConnectionLostError",
    "HostKeyChangedError",
    "LoginRefusedError",
    "MissingToolError",
    "RemoteTimeoutError",
    "RescueSystemError",
    "ScriptFailedError",
    "UnreachableError",
]


class RescueSystemError(ZomroError):
    """Something went wrong in the SSH session to the rescue system or on the rescue system itself."""

    kind = "rescue.error"


class UnreachableError(RescueSystemError):
    """Nothing answered on the port, the connection was refused, or what answered does not speak SSH."""

    kind = "rescue.unreachable"

    def __init__(self, message: str, *, host: str, port: int, reason: str) -> None:
        super().__init__(message, host=host, port=port, reason=reason)
        self.reason = reason  # "refused", "timeout", "unresolved", "not_ssh", "network"


class LoginRefusedError(RescueSystemError):
    """The rescue system refused the login as root with the password it was given."""

    kind = "rescue.login_refused"


class HostKeyChangedError(RescueSystemError):
    """The rescue system offered a host key other than the one trusted earlier in this rescue session."""

    kind = "rescue.host_key_changed"

    def __init__(self, message: str, *, host: str, port: int, trusted: str, offered: str) -> None:
        super().__init__(message, host=host, port=port, trusted=trusted, offered=offered)
        self.trusted = trusted
        self.offered = offered


class MissingToolError(RescueSystemError):
    """The rescue system lacks a program that the work needs; `tool` names it."""

    kind = "rescue.missing_tool"

    def __init__(self, message: str, *, tool: str, **facts: Any) -> None:
        super().__init__(message, tool=tool, **facts)
        self.tool = tool


class RemoteTimeoutError(RescueSystemError):
    """A remote command did not finish within its limit; the rescue system stopped it."""

    kind = "rescue.timeout"


class ConnectionLostError(RescueSystemError):
    """The connection broke before a read-only command answered (it changed nothing)."""

    kind = "rescue.connection_lost"


class ScriptFailedError(RescueSystemError):
    """The diagnosis script ended without a report that can be read."""

    kind = "rescue.script_failed"


class CommandOutcomeUnknownError(RescueSystemError, OutcomeUnknownError):
    """A command that changes things may have run, but its answer was lost; it is never run again by itself."""

    kind = "outcome_unknown"
