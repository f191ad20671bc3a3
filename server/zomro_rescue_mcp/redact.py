"""Secret masking for everything that leaves the process: logs, errors, tool results.

Secrets (the configured token and password, session ids, rescue passwords a person typed) are registered
as soon as they are known and masked everywhere. A generated rescue password is meant for the person, once,
in a result: it is registered for the logs only.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["MASK", "SecretFilter", "register", "register_for_logs", "scrub"]

MASK = "***"
_MIN_LENGTH = 4  # shorter strings would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()
_log_only: set[str] = set()


def register(secret: str | None) -> None:
    """Remember a secret so that `scrub` masks it from now on, in outputs and logs."""
    if secret and len(secret) >= _MIN_LENGTH:
        with _lock:
            _secrets.add(secret)


def register_for_logs(secret: str | None) -> None:
    """Remember a value the person may see in a result but that no log line may hold."""
    if secret and len(secret) >= _MIN_LENGTH:
        with _lock:
            _log_only.add(secret)


def scrub(text: str, *, for_log: bool = False) -> str:
    """Return `text` with every registered secret replaced by the mask (longest first)."""
    with _lock:
        known = sorted(_secrets | _log_only if for_log else _secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretFilter(logging.Filter):
    """A logging filter that renders each record once and masks registered secrets in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message, for_log=True)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info), for_log=True)
            record.exc_info = None
            record.msg = f"{record.msg} ({type(exc).__name__})"
        return True
