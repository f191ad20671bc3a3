"""The remote half of a repair: repair.sh with its parameters set, run once, and its report read.

Every value put into the script is checked here (device paths, plain absolute paths, hashes, base64, the stamp),
so none needs quoting. `run_script` turns the report's refusals into `RepairRefusedError`s and a script that stopped
into `ScriptFailedError`; a lost answer of a changing run is the connection's `CommandOutcomeUnknownError`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from .connection import SSHTarget, connect
from .errors import MissingToolError, RemoteTimeoutError, RescueSystemError, ScriptFailedError
from .limits import Limits
from .report import Report, Section
from .script import DISK_PATTERN
from .trust import HostKeyTrust

__all__ = ["PATH_PATTERN", "RepairRefusedError", "read_file", "repair_script", "run_script"]

PATH_PATTERN = re.compile(r"/[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*")
_PATH = PATH_PATTERN


class RepairRefusedError(RescueSystemError):
    """The fix does not apply (or no longer applies): nothing was written, and its sentence says so."""

    kind = "rescue.repair_refused"

    def __init__(self, message: str, **facts: Any) -> None:
        if "nothing" not in message.lower():
            message = f"{message.rstrip()} Nothing was changed."
        super().__init__(message, **facts)


_MODE = re.compile(r"[a-z][a-z_]{0,30}")
_EXTRA_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,30}")
_EXTRA_VALUE = re.compile(r"[A-Za-z0-9+/=._:,@%-]{0,65536}")  # nothing a shell would read as more than a word


@functools.cache
def _source(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _plain_path(path: str) -> bool:
    return bool(_PATH.fullmatch(path)) and "/../" not in path + "/" and "/./" not in path + "/"


def repair_script(
    mode: str,
    *,
    device: str | None,
    file: str,
    source: str = "",
    sha: str = "",
    new_b64: str = "",
    new_sha: str = "",
    stamp: str = "",
    perms: str = "",
    stat_of: str = "",
    extra: Mapping[str, str] | None = None,
) -> str:
    """repair.sh, then repair_MODE.sh, with their parameters set; every value is checked here, so none needs quoting.

    `extra` are the mode's own values, set as ZR_X_NAME: each a plain word (letters, digits and `+/=._:,@%-`); give
    anything else in base64.
    """
    if not _MODE.fullmatch(mode) or not resources.files(__package__).joinpath(f"repair_{mode}.sh").is_file():
        raise ValueError(f"not a repair mode: {mode!r}")
    if device is not None and not DISK_PATTERN.fullmatch(device):
        raise ValueError(f"not a device path: {device!r}")
    for path in (file, source, stat_of):
        if path and not _plain_path(path):
            raise ValueError(f"not a plain absolute path: {path!r}")
    if not re.fullmatch(r"[0-9a-f]{64}|", sha) or not re.fullmatch(r"[0-9a-f]{64}|", new_sha):
        raise ValueError("not a sha256")
    if not re.fullmatch(r"[A-Za-z0-9+/=]*", new_b64) or not re.fullmatch(r"(\d{8}T\d{6}Z)?", stamp):
        raise ValueError("bad content or stamp")
    for item in perms.split():
        octal, _, rest = item.partition(":")
        chown, _, path = rest.partition(":")
        if not re.fullmatch(r"[0-7]{3,4}", octal) or chown not in ("0", "1") or not path.startswith("/root"):
            raise ValueError(f"not a mode change: {item!r}")
        if not _plain_path(path):
            raise ValueError(f"not a plain absolute path: {path!r}")
    own = ""
    for name, value in (extra or {}).items():
        if not _EXTRA_NAME.fullmatch(name) or not _EXTRA_VALUE.fullmatch(value):
            raise ValueError(f"not a plain value for ZR_X_{name[:40]}")
        own += f"ZR_X_{name}={value}\n"
    header = (
        f"ZR_MODE={mode}\nZR_DEV={device or ''}\nZR_FILE={file}\nZR_SRC={source}\nZR_SHA={sha}\n"
        f"ZR_NEW={new_b64}\nZR_NEWSHA={new_sha}\nZR_STAMP={stamp}\nZR_PERMS='{perms}'\nZR_STATOF={stat_of}\n{own}"
    )
    return header + _source("repair.sh") + "\n" + _source(f"repair_{mode}.sh")


def _content(section: Section) -> bytes:
    return base64.b64decode("".join(section.lines))


async def run_script(
    target: SSHTarget, trust: HostKeyTrust, script: str, limits: Limits, *, read_only: bool
) -> tuple[Report, int]:
    async with await connect(target, trust, limits) as conn:
        result = await conn.run(script, read_only=read_only, timeout_s=limits.command_timeout_s)
        round_trips = conn.round_trips
    report = Report.parse(result.text, truncated=result.truncated)
    missing = [s.arg(0) for s in report.all("missing")]
    if missing:
        raise MissingToolError(
            f"The rescue system lacks {', '.join(missing)}, which a repair needs; nothing was changed: use a rescue "
            "image that has them (coreutils, util-linux).",
            tool=missing[0],
            tools=missing,
        )
    if result.timed_out:
        raise RemoteTimeoutError(
            f"The repair script did not finish within {limits.command_timeout_s:g} s and was stopped (it unmounts on "
            "the way out); diagnose again to see the state before deciding what to do.",
            host=target.host,
            port=target.port,
        )
    if report.has("no_root"):
        raise RepairRefusedError("No Linux root was found on the instance's disks; nothing was changed.")
    roots = report.first("roots")
    if roots is not None and len(roots.args) > 1:
        raise RepairRefusedError(
            f"Several Linux roots were found ({', '.join(roots.args[:6])}); name the disk to repair. Nothing was "
            "changed."
        )
    for name, why in (
        ("gone", "is no longer there"),
        ("changed", "changed since the preview"),
        ("backup_exists", "already has a backup of this second's name"),
    ):
        if report.has(name):
            raise RepairRefusedError(f"{report.all(name)[0].arg(0)} {why}; nothing was written: preview the fix again.")
    failed = report.first("failed")
    if failed is not None or not report.has("end"):
        step = failed.arg(0) if failed else f"exit status {result.exit_status}"
        raise ScriptFailedError(
            f"The repair stopped ({step}: {result.error_text.strip()[:160]}); the file was "
            + ("not replaced" if not report.has("written") else "replaced")
            + ", and its backup (if made) is beside it: diagnose again before deciding what to do.",
            stage="repair",
            exit_status=result.exit_status,
        )
    return report, round_trips


def read_file(report: Report, name: str, path: str) -> tuple[bytes, str, str]:
    section = report.first(name)
    if section is None or section.arg(1) == "absent":
        raise RepairRefusedError(f"{path} does not exist on the instance's root; nothing to change.")
    if section.arg(1) != "present":
        raise RepairRefusedError(f"{path} is larger than 256 KiB; this fix edits only small text files.")
    data = _content(section)
    if hashlib.sha256(data).hexdigest() != section.arg(5):
        raise ScriptFailedError(
            f"{path} did not arrive whole from the rescue system; nothing was changed: try again.", stage="plan"
        )
    return data, section.arg(5), f"{section.arg(2)} {section.arg(3)}"
