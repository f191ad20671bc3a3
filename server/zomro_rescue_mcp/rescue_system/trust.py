"""Trust on first use of the rescue system's host key, per rescue session.

Every rescue boot makes a new host key, so a `known_hosts` file cannot help. The first key seen in a rescue session
is trusted (its SHA256 fingerprint is shown and audited by the caller); any other key in the same session is refused:
it may be an attack, or the rescue system was rebooted. A new `enter_rescue` begins a new `RescueSession` (a new
token), and with it a new trust.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["MAX_SESSIONS", "HostKeyTrust", "RescueSession", "TrustDecision"]

MAX_SESSIONS = 4096  # pinned sessions kept; the oldest is forgotten first (a rescue session lasts hours, not days)


@dataclass(frozen=True)
class RescueSession:
    """One stay of one instance in rescue mode: the key under which its host key is pinned."""

    account: str
    instance: str
    token: str

    @classmethod
    def begin(cls, account: str, instance: int | str) -> RescueSession:
        """A new rescue session (call it when `enter_rescue` succeeds): a fresh token, so a fresh trust."""
        return cls(account=account, instance=str(instance), token=secrets.token_hex(8))


@dataclass(frozen=True)
class TrustDecision:
    """What `HostKeyTrust.check` decided about an offered key."""

    trusted: bool
    first_use: bool  # the key was pinned just now
    pinned: str  # the fingerprint trusted for the session (the offered one on first use)
    offered: str


class HostKeyTrust:
    """The host-key fingerprints pinned per rescue session, in memory (a restart starts a new trust).

    Safe to share between tasks and threads.
    """

    def __init__(self, *, max_sessions: int = MAX_SESSIONS) -> None:
        self._lock = threading.Lock()
        self._pins: OrderedDict[RescueSession, str] = OrderedDict()
        self._max = max_sessions

    def check(self, session: RescueSession, fingerprint: str) -> TrustDecision:
        """Pin `fingerprint` when the session has none yet; otherwise say whether it is the pinned one."""
        with self._lock:
            pinned = self._pins.get(session)
            if pinned is None:
                self._pins[session] = fingerprint
                while len(self._pins) > self._max:
                    self._pins.popitem(last=False)
                return TrustDecision(trusted=True, first_use=True, pinned=fingerprint, offered=fingerprint)
            return TrustDecision(trusted=pinned == fingerprint, first_use=False, pinned=pinned, offered=fingerprint)

    def pinned(self, session: RescueSession) -> str | None:
        """The fingerprint trusted for `session`, if a key was seen in it."""
        with self._lock:
            return self._pins.get(session)

    def forget(self, session: RescueSession) -> None:
        """Drop the trust of one rescue session (it ended)."""
        with self._lock:
            self._pins.pop(session, None)

    def forget_instance(self, account: str, instance: int | str) -> None:
        """Drop the trust of every rescue session of an instance (it left rescue mode, or enters it again)."""
        with self._lock:
            for session in [s for s in self._pins if s.account == account and s.instance == str(instance)]:
                del self._pins[session]
