"""The preview rule: a confirmed change runs only with the `preview_id` of the latest preview of that instance.

Every preview (`confirm=false`) is issued an opaque, random id (128 bits). The id is bound to what the person was
shown: the account, the instance, the action, and what it resolved to (`ActionResult.bound`): for entering rescue
mode the image's id, zone and label and the password plan (for a given password, a keyed digest of its value, never
the value); for a repair the fix, its target, the device and the exact diff or commands; for a command its text,
where it runs and its time limit. A confirmed call is
sent only when it carries the id of the latest preview of its instance in its account, not older than
ZOMRO_PREVIEW_TTL, bound to the same action as the confirmed call resolves to now; the id is then used up. A newer
preview of the instance supersedes the older ones. Otherwise nothing is sent, and the reason is one of
`PreviewRefusal`. A refused confirm is issued no id: only a preview is.

The ledger belongs to the server, so a preview in one MCP session or protocol era confirms in another.
ZOMRO_REQUIRE_PREVIEW=false turns the rule off (there is then no ledger, and no id).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from .models import ActionResult, PreviewRefusal

__all__ = [
    "PREVIEW_FIRST",
    "PreviewLedger",
    "PreviewRefusal",
    "PreviewScope",
    "Shown",
    "issue",
    "refusal_sentence",
    "refused",
]

Shown = TypeVar("Shown", bound=ActionResult)

PreviewScope = tuple[str, int]  # (account, instance id): a newer preview in the scope supersedes the older ones

PREVIEW_FIRST = (
    "Nothing was sent. Call the tool with confirm=false (the preview), show the preview to the person, and only "
    "after they approve that exact action call it again with confirm=true and the preview_id it returned."
)

_REASONS: dict[PreviewRefusal, str] = {
    "missing": "this confirmed call carries no preview_id, and this server changes an instance only with the "
    "preview_id of its latest preview",
    "unknown": "its preview_id was not issued by this server, or was already used (each preview confirms one change)",
    "expired": "its preview is older than ZOMRO_PREVIEW_TTL allows",
    "superseded": "a newer preview of this instance was given since, so only that newest preview can be confirmed",
    "different": "it differs from the action its preview showed (instance, action, image, zone, label or password; "
    "for a repair or a command, its diff, commands or where it runs)",
}


def refusal_sentence(reason: PreviewRefusal) -> str:
    """Why a confirmed call was refused, and what to do, in one sentence for any audience."""
    return f"Nothing was sent: {_REASONS[reason]}. {PREVIEW_FIRST.removeprefix('Nothing was sent. ')}"


def issue(ledger: PreviewLedger | None, preview: Shown, password: str | None) -> Shown:
    """A preview shown to the caller: with the rule on, it gets the id its confirmed call must carry."""
    if ledger is None:
        return preview
    preview_id = ledger.issue(preview, password)
    return preview.model_copy(
        update={
            "preview_id": preview_id,
            "next_step": f"{preview.next_step} Pass preview_id={preview_id!r} with confirm=true.",
        }
    )


def refused(preview: Shown, reason: PreviewRefusal, next_step: str) -> Shown:
    """What would happen, refused by the preview rule: no id is issued, so only a new preview can lead on."""
    return preview.model_copy(
        update={
            "kind": "refused.preview_required",
            "preview_refusal": reason,
            "preview_id": None,
            "next_step": next_step,
            "notes": [*preview.notes, refusal_sentence(reason)],
        }
    )


@dataclass(frozen=True)
class _Issued:
    scope: PreviewScope
    binding: str
    at: float


class PreviewLedger:
    """The preview ids this server issued, each usable once within `ttl` seconds; at most `capacity` are kept."""

    def __init__(self, ttl: float, capacity: int = 4096) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._key = secrets.token_bytes(32)  # keys the binding's digests: a given password is never kept as text
        self._issued: OrderedDict[str, _Issued] = OrderedDict()
        self._latest: dict[PreviewScope, str] = {}
        self._lock = threading.Lock()

    def binding(self, result: ActionResult, password: str | None = None) -> str:
        """A keyed digest of what the preview showed (and `password`, the given one, if any)."""
        parts = [*result.bound(), result.account or "", str(result.instance_id), password or ""]
        text = "\x00".join(parts).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, text, hashlib.sha256).hexdigest()

    @staticmethod
    def scope(result: ActionResult) -> PreviewScope:
        return (result.account or "", result.instance_id)

    def issue(self, result: ActionResult, password: str | None = None) -> str:
        """A new id for a preview just shown; it supersedes every earlier preview of the same instance."""
        preview_id = "pv_" + secrets.token_urlsafe(16)  # 128 random bits
        issued = _Issued(self.scope(result), self.binding(result, password), time.monotonic())
        with self._lock:
            self._prune(issued.at)
            self._issued[preview_id] = issued
            self._latest[issued.scope] = preview_id
            while len(self._issued) > self._capacity:
                dropped, old = self._issued.popitem(last=False)
                if self._latest.get(old.scope) == dropped:
                    del self._latest[old.scope]
        return preview_id

    def check(self, preview_id: str | None, result: ActionResult, password: str | None = None) -> PreviewRefusal | None:
        """Why `preview_id` cannot confirm the action `result` resolves to now, or None when it can (not used up)."""
        binding = self.binding(result, password)
        with self._lock:
            return self._judge(preview_id, self.scope(result), binding)

    def take(self, preview_id: str | None, result: ActionResult, password: str | None = None) -> PreviewRefusal | None:
        """`check`, and on success use the id up, so it confirms exactly one change."""
        binding = self.binding(result, password)
        scope = self.scope(result)
        with self._lock:
            reason = self._judge(preview_id, scope, binding)
            if reason is None and preview_id is not None:
                del self._issued[preview_id]
                if self._latest.get(scope) == preview_id:
                    del self._latest[scope]
            return reason

    def _judge(self, preview_id: str | None, scope: PreviewScope, binding: str) -> PreviewRefusal | None:
        if not preview_id:
            return "missing"
        issued = self._issued.get(preview_id)
        if issued is None:
            return "unknown"
        if time.monotonic() - issued.at > self._ttl:
            return "expired"
        if issued.scope != scope or not hmac.compare_digest(issued.binding, binding):
            return "different"
        if self._latest.get(scope) != preview_id:
            return "superseded"
        return None

    def _prune(self, now: float) -> None:
        """Forget ids long past their ttl (an expired one is still told apart from an unknown one for a while)."""
        while self._issued:
            oldest_id, oldest = next(iter(self._issued.items()))
            if now - oldest.at <= 4 * self._ttl:
                return
            del self._issued[oldest_id]
            if self._latest.get(oldest.scope) == oldest_id:
                del self._latest[oldest.scope]
