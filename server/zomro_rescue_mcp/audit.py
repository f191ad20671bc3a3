"""The audit trail: one JSON line per attempt to enter or leave rescue mode, never a secret.

A confirmed request is recorded *before* it is sent (phase "intent"); if that line cannot be written the
request is refused. Its outcome follows in a second line with the same request id (phase "outcome").
Previews and refusals are one line each. Lines are appended with one `write` on an O_APPEND descriptor,
so concurrent calls never interleave; the file is created with mode 0600.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

from . import redact
from .errors import ApiError, ConfigError, OutcomeUnknownError, PolicyRefusedError, ZomroError
from .models import RescueImage

__all__ = ["Approval", "Attempt", "AuditTrail"]

Approval = Literal[
    "not_required",
    "accepted",
    "declined",
    "cancelled",
    "mismatch",
    "unsupported",
    "not_asked",
    "replayed",
    "preview_first",
]
log = logging.getLogger("zomro_rescue_mcp.audit")


class AuditTrail:
    """Appends records to a JSON-lines file, or only logs them when no file is configured."""

    def __init__(self, path: str | None) -> None:
        self.path = os.path.expanduser(path) if path is not None else None
        self._lock = threading.Lock()
        if self.path is not None:
            try:
                fd = self._open()  # created or checked now, so a bad path stops the server at start
                try:
                    os.fchmod(fd, 0o600)  # a file that existed keeps no wider mode
                finally:
                    os.close(fd)
            except OSError as exc:
                raise ConfigError(
                    f"ZOMRO_AUDIT_LOG {self.path} cannot be written ({exc.strerror}): fix the path or its permissions."
                ) from None

    @staticmethod
    def problem(path: str) -> str | None:
        """Why `path` could not hold the audit trail, without creating or changing anything; None if it can."""
        path = os.path.expanduser(path)
        if os.path.islink(path):
            return f"{path} is a symbolic link, which the audit trail refuses"
        if os.path.exists(path):
            return None if os.path.isfile(path) and os.access(path, os.W_OK) else f"{path} is not a writable file"
        folder = os.path.dirname(os.path.abspath(path))
        return None if os.access(folder, os.W_OK | os.X_OK) else f"its folder {folder} is missing or not writable"

    def _open(self) -> int:
        assert self.path is not None
        # O_NOFOLLOW: a symlink planted at the path is refused rather than followed.
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as one line; raises OSError when the whole line cannot be written."""
        if self.path is None:
            return
        # Only free text can carry a secret (an error sentence); ids and names are never masked.
        safe = {
            k: redact.scrub(v, for_log=True) if k == "error" and isinstance(v, str) else v for k, v in record.items()
        }
        data = (json.dumps(safe, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            fd = self._open()
            try:
                written = os.write(fd, data)
                if written != len(data):  # a full disk: the line is incomplete, so it does not count
                    raise OSError(28, f"only {written} of {len(data)} bytes were written")
            finally:
                os.close(fd)

    @contextmanager
    def attempt(self, tool: str, instance_id: int, *, confirmed: bool, approval: Approval) -> Iterator[Attempt]:
        """Record one attempt; the outcome is read from how the block ends."""
        attempt = Attempt(self, tool, instance_id, confirmed=confirmed, approval=approval)
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

    def __init__(self, trail: AuditTrail, tool: str, instance_id: int, *, confirmed: bool, approval: Approval):
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
            "instance_id": instance_id,
            "image_id": None,
            "zone": None,
            "confirmed": confirmed,
            "approval": approval,
        }

    def image(self, image: RescueImage) -> None:
        self._fields.update(image_id=image.id, zone=image.zone)

    def before_send(self) -> None:
        """Write the intent line; a confirmed request whose record cannot be written is refused (fail closed)."""
        try:
            self._trail.write(self._record("intent", "pending"))
        except OSError as exc:
            log.error("audit trail not writable (%s); request %s refused", exc.strerror, self.request_id)
            raise PolicyRefusedError(
                f"The request was refused and nothing was sent: the audit trail {self._trail.path} cannot be "
                f"written ({exc.strerror}). Ask the operator to fix ZOMRO_AUDIT_LOG."
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
            "%s %s on instance %s: %s [req=%s]",
            self._fields["tool"],
            "confirmed" if self._fields["confirmed"] else "preview",
            self._fields["instance_id"],
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
