"""What the simulated account holds: instances, rescue images, users, sessions, the saved list filter, and how
the simulated API behaves where the evidence and the older guesses differ (`Behaviour`).
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CAPTCHA_USERNAME",
    "DEMO_PASSWORD",
    "DEMO_USERNAME",
    "EXECUTED_WITHOUT_SOK",
    "LOGIN_FUNCTIONS",
    "SEED_FUNCTIONS",
    "TOTP_SECRET",
    "TOTP_USERNAME",
    "Behaviour",
    "Session",
    "SimImage",
    "SimInstance",
    "SimSnapshot",
    "default_images",
    "default_instances",
]

DEMO_USERNAME = "demo@example.com"
DEMO_PASSWORD = "Demo-Passw0rd"
TOTP_USERNAME = "totp@example.com"  # two-factor on: its logins must be confirmed with a code from TOTP_SECRET
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
CAPTCHA_USERNAME = "captcha@example.com"  # its API logins are refused for want of a reCAPTCHA answer

LOGIN_FUNCTIONS = frozenset({"auth", "totp.confirm"})  # they change no server, whatever `sok` they carry
SEED_FUNCTIONS = frozenset({"instances.fleio.rescue", "instances.fleio.unrescue"})  # all the article documents
# Functions that change a server without `sok` (the article and Zomro's panel send them so): every call is a change.
EXECUTED_WITHOUT_SOK = frozenset({"instances.fleio.unrescue", "service.reboot", "service.start", "service.stop"})


@dataclass
class Behaviour:
    """How the simulated API behaves. The defaults follow the evidence (Zomro's panel source, see the README's
    "How it talks to Zomro"); `legacy()` gives this project's earlier guesses, kept so the product is tested
    against both. Where no evidence exists either way, the attribute says so.
    """

    state_in_edit: bool = False  # evidence: instances.edit is a form without instance_status; legacy: it has it
    json_errors: bool = True  # evidence: cloud-layer errors carry {"field": ["message"]} in msg.$; legacy: text
    long_links: Literal["relative", "absolute"] = "relative"  # evidence: the panel resolves relative links
    expired_session_error: Literal["access", "auth"] = "access"  # the panel sees access; other clients auth
    functions: frozenset[str] | None = None  # the functions the account's API offers (None: all); no evidence
    denied: frozenset[str] = frozenset()  # functions refused to a live session with an access denial

    @classmethod
    def legacy(cls) -> Behaviour:
        """The simulator as it was before the panel's source was read."""
        return cls(state_in_edit=True, json_errors=False, long_links="absolute")

    @classmethod
    def seed_only(cls, *, with_list: bool = True) -> Behaviour:
        """An account whose API offers only what the article documents (and, with_list, the instance list)."""
        return cls(functions=SEED_FUNCTIONS | ({"instances"} if with_list else set()))


@dataclass(frozen=True)
class SimImage:
    """One rescue image as offered by the rescue preview."""

    id: str
    os: str
    zone: str
    name: str | None = None


@dataclass
class SimSnapshot:
    """One snapshot or backup of an instance: "Saving" until `ready_at` (time.monotonic), then "Active"."""

    id: int
    name: str
    created: str  # the UTC day it was made, YYYY-MM-DD (the per-day limits count these)
    ready_at: float

    @property
    def status(self) -> str:
        return "Saving" if time.monotonic() < self.ready_at else "Active"


@dataclass
class SimInstance:
    """One Cloud VPS instance of the simulated account."""

    id: int
    name: str
    status: str = "active"
    ip: str = "203.0.113.10"
    ip_v6: str = ""
    datacenter: str = "Netherlands"
    os_distro: str = "Ubuntu"
    os_version: str = "22.04"
    billing_status: str = "2"  # BILLmanager's service status: 2 active; 1, 4, 5 not active
    item_status: str = "Active"
    rescue_image: str | None = None  # the rescue image, or the ISO it was booted from
    root_password: str | None = field(default=None, repr=False)  # set by changepassword; never shown
    snapshots: list[SimSnapshot] = field(default_factory=list)
    backups: list[SimSnapshot] = field(default_factory=list)
    raw_row: dict[str, Any] | None = None  # a captured list row, served as it was (replay)
    starts_at: float | None = None  # after an accepted request: when the old state gives way to `starts_as`
    starts_as: str | None = None
    settles_at: float | None = None  # while transitional: when the status becomes `settles_to`
    settles_to: str | None = None
    # With a rescue system (rescue_systems.py): where it answers while the instance is rescued (listed as its IP),
    # and its start or stop under way, which the transition waits for (a failed start ends in the error state).
    rescue_address: str | None = None
    # After an unrescue (with a rescue system): whether it may boot (False: it does not, whatever its disk; True: it
    # does unless its rescue system finds its disk unbootable, see rescue_systems.BootJudge), and where its own system
    # then answers (the rescue system's loopback address, listed as its IP while active; see own_system.py).
    boots: bool = True
    own_address: str | None = None
    waits_for: Future[tuple[str, int] | None] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """The IPv4 address the list shows: its rescue system's while it is rescued (a loopback one), the one its own
        system took after an unrescue while it is active, else its own."""
        if self.rescue_address is not None and self.status in ("rescued", "unrescuing"):
            return self.rescue_address
        if self.own_address is not None and self.status == "active":
            return self.own_address
        return self.ip

    def begin(self, transitional: str, steady: str, seconds: float, lag: float = 0.0) -> None:
        """Keep the old state for ``lag`` seconds, then a transitional one (e.g. rescuing) for ``seconds``."""
        now = time.monotonic()
        self.starts_at, self.starts_as = now + lag, transitional
        self.settles_at, self.settles_to = now + lag + seconds, steady
        self.settle()

    def settle(self) -> None:
        """Apply what has happened by now; called before every read or change of the instance."""
        now = time.monotonic()
        if self.starts_at is not None and self.starts_as is not None and now >= self.starts_at:
            self.status, self.starts_at, self.starts_as = self.starts_as, None, None
        settled = self.settles_at is not None and now >= self.settles_at
        if self.starts_at is None and settled and self.settles_to is not None and self._rescue_system_ready():
            self.status, self.settles_at, self.settles_to = self.settles_to, None, None

    def _rescue_system_ready(self) -> bool:
        """Whether the rescue system's start or stop the transition waits for is done (then it is taken in)."""
        waits = self.waits_for
        if waits is None:
            return True
        if not waits.done():
            return False
        self.waits_for = None
        failed = waits.cancelled() or waits.exception() is not None
        if failed and self.settles_to == "rescued":
            self.settles_to = "error"  # as a rescue whose rescue system does not boot
        where = None if failed else waits.result()
        address = where[0] if where is not None else None
        if self.settles_to == "active":  # unrescued: its own system answers there if it boots
            self.rescue_address, self.own_address = None, address
        else:
            self.rescue_address, self.own_address = address, None
        return True


@dataclass
class Session:
    """A session id's user, when it was last used, and whether its two-factor step is done."""

    username: str
    last_used: float = field(default_factory=time.monotonic)
    confirmed: bool = True


UBUNTU_2204 = "f8f2573f-56c4-44c5-8469-84eee4aa64e7"
_PUBLIC_IMAGES = (
    (UBUNTU_2204, "Ubuntu 22.04"),
    ("0bf4deb2-855c-4863-8518-6006d804adbb", "Debian 10"),
    ("18d0ee2e-4d57-4f40-9b56-03c1773b5831", "AlmaLinux 8"),
    ("1d9dda4c-34b0-4304-a90a-8f3018722fa2", "Rocky-Linux-8"),
    ("2af0af94-0e6e-4ef3-8837-d41fdbfa3564", "Windows Server 2016"),
    ("3010ae60-0185-4021-98da-f50013147ebd", "Debian 11"),
    ("479c96f1-ccc6-47a2-952c-c9e3bbdc8d07", "Ubuntu 20.04"),
    ("5da4ad83-45f6-4c0e-9a7e-7a7c18b2be6c", "AlmaLinux 9"),
    ("7d7911e3-7178-4f36-a308-d841db5fe654", "CentOS Stream 9"),
    ("92fabac2-69cc-46ad-8439-c377e0c90632", "Ubuntu 23.04"),
    ("93878ba5-6b9e-4924-a4be-34edb623f808", "Debian 12"),
    ("a8b7bcb3-6698-4264-b413-f2b866a46a70", "Rocky-Linux-9"),
    ("b10434c0-d839-428f-a919-cac733fd6552", "Windows Server 2019"),
    ("bda2467e-e192-4e4e-becc-cda2e71b9767", "Windows Server 2022"),
)


def default_images() -> list[SimImage]:
    """The article's public images, one of the account's own and one shared by support."""
    images = [SimImage(id=key, os=label, zone="pub") for key, label in _PUBLIC_IMAGES]
    images.append(SimImage(id="a9e7c223-5f11-4546-a298-6af546bebde6", os="Centos 9 x64", zone="own", name="foo"))
    images.append(
        SimImage(
            id="5c1f6f7e-2b0c-4c55-9d3e-6a0f3b1d2e41", os="Debian 12 (support tools)", zone="shr", name="support-rescue"
        )
    )
    return images


def default_instances() -> dict[int, SimInstance]:
    """The demo account: a web server, a database, one already in rescue, one in error."""
    return {
        5203773: SimInstance(id=5203773, name="web-1", ip="203.0.113.10"),
        5203774: SimInstance(id=5203774, name="db-1", ip="203.0.113.11"),
        5203775: SimInstance(
            id=5203775, name="legacy-1", status="rescued", ip="203.0.113.12", rescue_image=UBUNTU_2204
        ),
        5203776: SimInstance(
            id=5203776, name="mail-1", status="error", ip="203.0.113.13", os_distro="Debian", os_version="12"
        ),
    }
