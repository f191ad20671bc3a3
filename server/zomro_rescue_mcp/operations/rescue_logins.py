"""The rescue logins this server holds: for each instance in rescue mode, its root password and its rescue session.

`enter_rescue` begins a login when Zomro accepts it (the password generated or given, the image, and a new rescue
session, so a new host-key trust); `exit_rescue` ends it. A login is forgotten after ZOMRO_RESCUE_SESSION_TTL, and
when a read shows the instance is no longer in rescue mode. When the server holds none (a restart, or rescue mode
entered in the panel), a tool is given the password (`rescue_password`) and the server keeps it for the same stay.
Only memory holds them: never a file, a log or a result.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

from ..core import redact
from ..rescue_system.trust import HostKeyTrust, RescueSession
from .models import RescueImage

__all__ = ["RescueLogin", "RescueLogins"]


@dataclass(frozen=True)
class RescueLogin:
    """One instance's stay in rescue mode as this server knows it."""

    session: RescueSession
    password: str | None = field(default=None, repr=False)
    image: RescueImage | None = None  # the image entered from, when this server entered it
    until: float = 0.0  # monotonic time after which it is forgotten


class RescueLogins:
    """The logins by (account, instance), each kept at most `ttl` seconds; the host-key trust of each stay."""

    def __init__(self, ttl: float, trust: HostKeyTrust | None = None) -> None:
        self.ttl = ttl
        self.trust = trust or HostKeyTrust()
        self._held: dict[tuple[str, int], RescueLogin] = {}
        self._lock = threading.Lock()

    def begin(self, account: str, instance_id: int, password: str | None, image: RescueImage | None) -> RescueLogin:
        """A new stay (Zomro accepted `enter_rescue`): a new rescue session, so the host key is trusted anew."""
        redact.register_for_logs(password)
        login = RescueLogin(RescueSession.begin(account, instance_id), password, image, time.monotonic() + self.ttl)
        with self._lock:
            self._held[(account, instance_id)] = login
        self.trust.forget_instance(account, instance_id)
        return login

    def get(self, account: str, instance_id: int) -> RescueLogin | None:
        """The login held for the instance, unless it expired (then it is forgotten)."""
        with self._lock:
            login = self._held.get((account, instance_id))
            expired = login is not None and time.monotonic() > login.until
            if expired:
                del self._held[(account, instance_id)]
        if expired:  # a key pinned in an expired stay is not trusted for the next
            self.trust.forget_instance(account, instance_id)
            return None
        return login

    def given(self, account: str, instance_id: int, password: str) -> RescueLogin:
        """The person gave the password: kept for this stay (a stay this server did not begin starts now)."""
        redact.register(password)
        held = self.get(account, instance_id)
        if held is None:
            return self.begin(account, instance_id, password, None)
        login = replace(held, password=password)
        with self._lock:
            self._held[(account, instance_id)] = login
        return login

    def end(self, account: str, instance_id: int) -> None:
        """The instance left rescue mode: its password and its host-key trust are forgotten."""
        with self._lock:
            self._held.pop((account, instance_id), None)
        self.trust.forget_instance(account, instance_id)
