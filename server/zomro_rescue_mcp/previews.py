"""The preview rule: a confirmed change runs only after this server previewed the same action, a short while before.

"The same action" is the account and the instance, and for entering rescue mode also the resolved image, its zone
and the password plan (given, generated or none). A preview counts once. The ledger belongs to the server, so a
preview in one MCP session or protocol era lets the same action be confirmed in another (of the same account).
ZOMRO_REQUIRE_PREVIEW=false turns it off.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from .models import ActionResult, EnterRescueResult

__all__ = ["PREVIEW_FIRST", "PreviewKey", "PreviewLedger", "preview_key"]

PreviewKey = tuple[str, ...]

PREVIEW_FIRST = (
    "This is the preview, and nothing was sent: this server changes an instance only after its own preview of the "
    "same action. Show it to the person; after they approve, confirm again with the same arguments."
)


def preview_key(result: ActionResult) -> PreviewKey:
    """What makes two calls the same action."""
    account = result.account or ""
    if isinstance(result, EnterRescueResult):
        return ("enter", account, str(result.instance_id), result.image.id, result.image.zone, result.password_plan)
    return ("exit", account, str(result.instance_id))


class PreviewLedger:
    """The previews this server gave, each usable once within `ttl` seconds; at most `capacity` are kept."""

    def __init__(self, ttl: float, capacity: int = 1024) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._given: OrderedDict[PreviewKey, float] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, key: PreviewKey) -> None:
        """Remember a preview just given (the newest replaces an older one of the same action)."""
        with self._lock:
            self._given.pop(key, None)
            self._given[key] = time.monotonic()
            while len(self._given) > self._capacity:
                self._given.popitem(last=False)

    def take(self, key: PreviewKey) -> bool:
        """Use up the preview of this action; False when there is none, or it is older than the ttl."""
        with self._lock:
            given = self._given.pop(key, None)
        return given is not None and time.monotonic() - given <= self._ttl

    def has(self, key: PreviewKey) -> bool:
        """Whether a usable preview of this action exists (it is not used up)."""
        with self._lock:
            given = self._given.get(key)
        return given is not None and time.monotonic() - given <= self._ttl
