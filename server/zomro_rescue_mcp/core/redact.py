"""Secret masking for everything that leaves the process: logs, errors, tool results.

Secrets (the configured token and password, session ids, rescue passwords a person typed) are registered
as soon as they are known and masked everywhere. A generated rescue password is meant for the person, once,
in a result: it is registered for the logs only.

Masking stays cheap over a long life: the configured secrets are kept for the life of the process, but of
the secrets learnt while running (session ids and typed passwords; generated passwords, for the logs) only
the `MAX_RECENT` (256) most recent of each kind are remembered, the oldest forgotten first. The masking order
(longest first) is worked out when a secret is registered, not on every `scrub`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import TypeGuard

__all__ = ["MASK", "MAX_RECENT", "SecretFilter", "register", "register_configured", "register_for_logs", "scrub"]

MASK = "***"
MAX_RECENT = 256  # secrets learnt while running that are remembered, per kind
_MIN_LENGTH = 4  # shorter strings would mask ordinary words


class _Registry:
    """The remembered secrets and, ready for `scrub`, the two masking orders derived from them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configured: set[str] = set()
        self.recent: OrderedDict[str, None] = OrderedDict()
        self.recent_for_logs: OrderedDict[str, None] = OrderedDict()
        self.for_output: tuple[str, ...] = ()  # longest first
        self.for_logs: tuple[str, ...] = ()

    def keep(self, secret: str) -> None:
        """Remember `secret` for the life of the process."""
        with self.lock:
            self.configured.add(secret)
            self._reorder()

    def remember(self, secret: str, bucket: OrderedDict[str, None]) -> None:
        """Remember `secret` as the most recent of `bucket`, forgetting the oldest beyond `MAX_RECENT`."""
        with self.lock:
            bucket[secret] = None
            bucket.move_to_end(secret)  # registered again: the most recent once more
            while len(bucket) > MAX_RECENT:
                bucket.popitem(last=False)
            self._reorder()

    def _reorder(self) -> None:
        shown = self.configured | self.recent.keys()
        self.for_output = tuple(sorted(shown, key=len, reverse=True))
        self.for_logs = tuple(sorted(shown | self.recent_for_logs.keys(), key=len, reverse=True))


_registry = _Registry()


def _maskable(secret: str | None) -> TypeGuard[str]:
    return secret is not None and len(secret) >= _MIN_LENGTH


def register_configured(secret: str | None) -> None:
    """Remember a configured secret (token, account password, TOTP or MCP token) for the life of the process."""
    if _maskable(secret):
        _registry.keep(secret)


def register(secret: str | None) -> None:
    """Remember a secret learnt while running (a session id, a typed password); the oldest are forgotten."""
    if _maskable(secret):
        _registry.remember(secret, _registry.recent)


def register_for_logs(secret: str | None) -> None:
    """Remember a value the person may see in a result but that no log line may hold."""
    if _maskable(secret):
        _registry.remember(secret, _registry.recent_for_logs)


def scrub(text: str, *, for_log: bool = False) -> str:
    """Return `text` with every remembered secret replaced by the mask (longest first)."""
    registry = _registry
    known = registry.for_logs if for_log else registry.for_output  # a tuple, replaced whole on change
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
