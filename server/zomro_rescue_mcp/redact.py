"""Secret masking for everything that leaves the process: logs, errors, tool results.

Secrets (the configured token and password, session ids, rescue passwords a user typed) are registered
here as soon as they are known; `scrub` replaces each with a mask. Logging goes through `SecretFilter`.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["MASK", "SecretFilter", "register", "scrub"]

MASK = "***"
_MIN_LENGTH = 4  # shorter strings would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()


def register(secret: str | None) -> None:
    """Remember a secret so that `scrub` masks it from now on."""
    if secret and len(secret) >= _MIN_LENGTH:
        with _lock:
            _secrets.add(secret)


def scrub(text: str) -> str:
    """Return `text` with every registered secret replaced by the mask (longest first)."""
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


class SecretFilter(logging.Filter):
    """A logging filter that renders each record once and masks registered secrets in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.msg = f"{record.msg} ({type(exc).__name__})"
        return True
