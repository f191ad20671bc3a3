"""The audit trail: one JSON line per attempt to enter or leave rescue mode, never a secret.

A confirmed request is recorded *before* it is sent (phase "intent"); if that line cannot be written the
request is refused. Its outcome follows in a second line with the same request id (phase "outcome").
Previews and refusals are one line each.

The trail cannot be turned against its host:
- Path: only a regular file owned by this user, or a new one (created 0600). A device, FIFO, socket,
  directory or symlink is judged by `lstat` and never opened; what is opened (O_NOFOLLOW) is judged again by
  `fstat` on the descriptor before anything is written to it or its mode is changed. `AuditTrail.problem`
  gives the same verdict without creating or changing anything (the CLI's `doctor` uses it).
- Whole records: each line is one `write` on an O_APPEND descriptor, so concurrent calls never interleave;
  after a short write (a full disk) the fragment is cut off again, so the file ends on a whole line.
- Never blocking: every open uses O_NONBLOCK, and a line is bounded (long error texts are shortened).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

from ..core import redact
from ..core.errors import ApiError, ConfigError, OutcomeUnknownError, PolicyRefusedError, ZomroError
from .models import ApprovedBy, PreviewRefusal, RescueImage

__all__ = ["ApprovalWord", "Attempt", "AuditTrail"]

# What an attempt records as the person's approval (approval.Approval.word).
ApprovalWord = Literal[
    "not_required",
    "accepted",
    "declined",
    "cancelled",
    "mismatch",
    "unsupported",
    "not_asked",
    "replayed",
    "preview_first",
    "cannot_ask",
]
log = logging.getLogger("zomro_rescue_mcp.audit")

# O_NOFOLLOW: a symlink planted at the path is refused, not followed. O_NONBLOCK: nothing can make an open wait.
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK
_MAX_TEXT = 8000  # characters of free text (an error sentence) kept in one line, so every write is bounded
_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class _RefusedPathError(OSError):
    """The path holds something the audit trail must not write to; `clause` says what, after the path."""

    def __init__(self, clause: str) -> None:
        super().__init__(errno.EPERM, f"it {clause}")
        self.clause = clause


def _refusal(info: os.stat_result) -> str | None:
    """The one rule for what may hold the trail: a regular file of this user. None when `info` passes."""
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "something other than a file")
        return f"is {kind}, not a regular file"
    if info.st_uid != os.geteuid():
        return f"belongs to another user (uid {info.st_uid}), not to the user running the server"
    return None


def _open_checked(path: str, *, create: bool) -> int:
    """Open `path` for appending if `_refusal` passes it (or create it when `create`); never follows or blocks.

    It is judged by lstat before opening, so a device or a FIFO is never opened at all, and again by fstat
    on the open descriptor, so what is written to and made private is exactly what was judged.
    """
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        if not create:
            raise
        try:
            return os.open(path, _APPEND | os.O_CREAT | os.O_EXCL, 0o600)  # new, so regular and ours
        except FileExistsError:  # something appeared meanwhile: judge it like any existing path
            before = os.lstat(path)
    if (clause := _refusal(before)) is not None:
        raise _RefusedPathError(clause)
    fd = os.open(path, _APPEND)
    try:
        now = os.fstat(fd)
        clause = _refusal(now)
        if clause is None and (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            clause = "was replaced while it was being opened"
        if clause is not None:
            raise _RefusedPathError(clause)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _cut_fragment(fd: int, written: int) -> None:
    """Remove the `written` bytes of a line that could not be written whole, so the file ends on a whole line."""
    try:
        end = os.lseek(fd, 0, os.SEEK_CUR)  # O_APPEND: just past what this write added
        if os.fstat(fd).st_size == end:  # only when nothing was appended after the fragment
            os.ftruncate(fd, end - written)
        else:
            log.error("audit trail: another writer appended after a partial line; it could not be removed")
    except OSError as exc:
        log.error("audit trail: a partial line could not be removed (%s)", exc.strerror)


class AuditTrail:
    """Appends records to a JSON-lines file, or only logs them when no file is configured."""

    def __init__(self, path: str | None) -> None:
        self.path = os.path.expanduser(path) if path is not None else None
        self._lock = threading.Lock()
        if self.path is not None:
            try:
                fd = _open_checked(self.path, create=True)  # created or judged now: a bad path stops the start
                try:
                    os.fchmod(fd, 0o600)  # a file that existed keeps no wider mode
                finally:
                    os.close(fd)
            except _RefusedPathError as exc:
                raise ConfigError(
                    f"ZOMRO_AUDIT_LOG {self.path} {exc.clause}: point it at a regular file of this user, "
                    "or at a new one."
                ) from None
            except OSError as exc:
                raise ConfigError(
                    f"ZOMRO_AUDIT_LOG {self.path} cannot be written ({exc.strerror}): fix the path or its permissions."
                ) from None

    @staticmethod
    def problem(path: str) -> str | None:
        """Why `path` could not hold the audit trail, without creating or changing anything; None if it can.

        The same judgement as the constructor's (`_open_checked`), so `doctor` and the server agree.
        """
        path = os.path.expanduser(path)
        try:
            fd = _open_checked(path, create=False)
        except FileNotFoundError:
            folder = os.path.dirname(os.path.abspath(path))
            return None if os.access(folder, os.W_OK | os.X_OK) else f"its folder {folder} is missing or not writable"
        except _RefusedPathError as exc:
            return f"{path} {exc.clause}"
        except OSError as exc:
            return f"{path} cannot be opened for writing ({exc.strerror})"
        os.close(fd)
        return None

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one whole line; raises OSError, leaving no partial line, when it cannot."""
        if self.path is None:
            return
        # Only free text can carry a secret (an error sentence); ids and names are never masked.
        safe = {k: _text(v) if k == "error" and isinstance(v, str) else v for k, v in record.items()}
        data = (json.dumps(safe, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            fd = _open_checked(self.path, create=True)
            try:
                written = os.write(fd, data)
                if written != len(data):  # a full disk: the line is incomplete, so it does not count
                    _cut_fragment(fd, written)
                    raise OSError(errno.ENOSPC, f"only {written} of {len(data)} bytes could be written")
            finally:
                os.close(fd)

    @contextmanager
    def attempt(
        self, tool: str, instance_id: int, *, confirmed: bool, approval: ApprovalWord, account: str | None = None
    ) -> Iterator[Attempt]:
        """Record one attempt on an account's instance (None: no account was chosen); the outcome is read from how
        the block ends."""
        attempt = Attempt(self, tool, instance_id, confirmed=confirmed, approval=approval, account=account)
        try:
            yield attempt
        except OutcomeUnknownError as exc:
            attempt.finish("outcome_unknown", exc)
            raise
        except ZomroError as exc:  # after the intent line, the API answered with a refusal or not at all
            attempt.finish("executed" if attempt.accepted else "api_error" if attempt.sent else "refused", exc)
            raise
        except BaseException as exc:  # e.g. the caller cancelled: while watching, the request stands accepted
            attempt.finish("executed" if attempt.accepted else "outcome_unknown" if attempt.sent else "refused", exc)
            raise
        else:
            attempt.finish(attempt.undelivered or ("executed" if attempt.sent else attempt.unsent))


class Attempt:
    """One call of enter_rescue or exit_rescue as the audit trail sees it."""

    def __init__(
        self,
        trail: AuditTrail,
        tool: str,
        instance_id: int,
        *,
        confirmed: bool,
        approval: ApprovalWord,
        account: str | None = None,
    ):
        self.request_id = secrets.token_hex(6)
        self.approval = approval
        self.sent = False
        self.accepted = False  # set once Zomro accepted the request; what follows (the watch) cannot undo it
        self.unsent = "preview"  # how an attempt that sent nothing and met no refusal ended
        self.undelivered: str | None = None  # "executed; … not delivered" when the caller hung up first
        self._trail = trail
        self._started = time.monotonic()
        self._fields: dict[str, Any] = {
            "request_id": self.request_id,
            "tool": tool,
            "account": account,
            "instance_id": instance_id,
            "image_id": None,
            "zone": None,
            "confirmed": confirmed,
            "approval": approval,
            "approved_by": None,
            "preview_refusal": None,
        }

    def image(self, image: RescueImage) -> None:
        self._fields.update(image_id=image.id, zone=image.zone)

    def approved(self, by: ApprovedBy) -> None:
        """Who approved the change about to be sent (recorded in the intent line and the outcome)."""
        self._fields["approved_by"] = by

    def host_key(self, fingerprint: str) -> None:
        """The rescue system's host key a diagnosis trusted (a read: recorded, never a password)."""
        self._fields["host_key"] = fingerprint

    def detail(self, **fields: str | int | bool | list[str] | None) -> None:
        """What a repair or a command is about (its fix, files, verdict; a command and its exit code), recorded in
        the intent line and the outcome. Never a password, a key or a command's output."""
        self._fields.update({name: _text(v) if isinstance(v, str) else v for name, v in fields.items()})

    def refused_preview(self, reason: PreviewRefusal) -> None:
        """A confirmed call the preview rule refused, and why (nothing was sent)."""
        self._fields["preview_refusal"] = reason
        self.unsent = "preview_required"

    def before_send(self) -> None:
        """Write the intent line; a confirmed request whose record cannot be written is refused (fail closed)."""
        try:
            self._trail.write(self._record("intent", "pending"))
        except OSError as exc:
            log.error("audit trail not writable (%s); request %s refused", exc.strerror, self.request_id)
            raise PolicyRefusedError(
                f"The request was refused and nothing was sent: the audit trail {self._trail.path} cannot be "
                f"written ({exc.strerror}). Ask the operator to fix ZOMRO_AUDIT_LOG.",
                kind="refused.audit",
            ) from None
        self.sent = True

    def finish(self, result: str, error: BaseException | None = None) -> None:
        record = self._record("outcome" if self.sent else "single", result)
        if isinstance(error, ApiError):
            record.update(error_type=error.err_type, error_object=error.err_object, error=error.api_message)
        elif isinstance(error, ZomroError):
            record.update(error_type=type(error).__name__, error=str(error))
        elif error is not None:
            record.update(error_type=type(error).__name__)
        log.info(
            "%s %s on instance %s of account %s: %s [req=%s]",
            self._fields["tool"],
            "confirmed" if self._fields["confirmed"] else "preview",
            self._fields["instance_id"],
            self._fields["account"] or "(none chosen)",
            result,
            self.request_id,
        )
        try:
            self._trail.write(record)
        except OSError as exc:
            log.error("audit trail not writable (%s); record of request %s lost", exc.strerror, self.request_id)

    def _record(self, phase: str, result: str) -> dict[str, Any]:
        return {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            **self._fields,
            "phase": phase,
            "result": result,
            "duration_ms": round((time.monotonic() - self._started) * 1000),
        }


def _text(value: str) -> str:
    """Free text as the trail keeps it: secrets masked first (so none is cut in half), then bounded."""
    value = redact.scrub(value, for_log=True)
    return value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + "…"
