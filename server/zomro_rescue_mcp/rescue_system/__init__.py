"""Inside the rescue system: a safe SSH session, the disk finder, and a read-only diagnosis of the instance's disks.

This layer knows nothing of MCP or of Zomro's API: it is handed an address, a port, a password and the rescue
session the host key is trusted for. The whole diagnosis is `diagnose(target, trust)`:

    trust = HostKeyTrust()                               # one per server process
    session = RescueSession.begin(account, instance_id)  # when enter_rescue succeeds (a new trust)
    target = SSHTarget(host, port, password=..., session=session)
    diagnosis = await diagnose(target, trust, on_progress=...)

`connect(target, trust)` opens the same kind of connection for other work (bounded `run`); `run_command(target,
trust, command, chroot=..., timeout_s=...)` runs one confirmed command line (commands.py), `locate_root` says where
it would run. Failures are `RescueSystemError`s with a kind each (errors.py).

The names load on first use: importing the package loads no SSH library.
"""

from typing import TYPE_CHECKING

from ..core.lazy import exporter

if TYPE_CHECKING:
    from .commands import CommandRefusedError, CommandRun, locate_root, run_command
    from .connection import CommandResult, RescueConnection, SSHTarget, connect
    from .diagnosis import Diagnosis, HostKey, Progress, ProgressCallback, RootSystem, diagnose, read_report
    from .disks import Disk
    from .errors import (
        CommandOutcomeUnknownError,
        ConnectionLostError,
        HostKeyChangedError,
        LoginRefusedError,
        MissingToolError,
        RemoteTimeoutError,
        RescueSystemError,
        ScriptFailedError,
        UnreachableError,
    )
    from .findings import FINDING_KINDS, FIXES, Finding, FindingKind, Severity
    from .limits import Limits
    from .report import Report
    from .script import STAGES
    from .trust import HostKeyTrust, RescueSession, TrustDecision

__all__ = [
    "FINDING_KINDS",
    "FIXES",
    "STAGES",
    "CommandOutcomeUnknownError",
    "CommandRefusedError",
    "CommandResult",
    "CommandRun",
    "ConnectionLostError",
    "Diagnosis",
    "Disk",
    "Finding",
    "FindingKind",
    "HostKey",
    "HostKeyChangedError",
    "HostKeyTrust",
    "Limits",
    "LoginRefusedError",
    "MissingToolError",
    "Progress",
    "ProgressCallback",
    "RemoteTimeoutError",
    "Report",
    "RescueConnection",
    "RescueSession",
    "RescueSystemError",
    "RootSystem",
    "SSHTarget",
    "ScriptFailedError",
    "Severity",
    "TrustDecision",
    "UnreachableError",
    "connect",
    "diagnose",
    "locate_root",
    "read_report",
    "run_command",
]

__getattr__ = exporter(
    __name__,
    {
        "CommandOutcomeUnknownError": "errors",
        "CommandRefusedError": "commands",
        "CommandResult": "connection",
        "CommandRun": "commands",
        "ConnectionLostError": "errors",
        "Diagnosis": "diagnosis",
        "Disk": "disks",
        "FINDING_KINDS": "findings",
        "FIXES": "findings",
        "Finding": "findings",
        "FindingKind": "findings",
        "HostKey": "diagnosis",
        "HostKeyChangedError": "errors",
        "HostKeyTrust": "trust",
        "Limits": "limits",
        "LoginRefusedError": "errors",
        "MissingToolError": "errors",
        "Progress": "diagnosis",
        "ProgressCallback": "diagnosis",
        "RemoteTimeoutError": "errors",
        "Report": "report",
        "RescueConnection": "connection",
        "RescueSession": "trust",
        "RescueSystemError": "errors",
        "RootSystem": "diagnosis",
        "SSHTarget": "connection",
        "STAGES": "script",
        "ScriptFailedError": "errors",
        "Severity": "findings",
        "TrustDecision": "trust",
        "UnreachableError": "errors",
        "connect": "connection",
        "diagnose": "diagnosis",
        "locate_root": "commands",
        "read_report": "diagnosis",
        "run_command": "commands",
    },
)
