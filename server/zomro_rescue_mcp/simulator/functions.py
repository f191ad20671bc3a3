"""The BILLmanager functions of the simulated accounts: form fields in, a `{"doc": …}` answer out.

Where each behaviour comes from (the project's API notes): the list row with `instance_status`, billing
`status`/`item_status` and paging, the saved list filter, `instances.edit` as a form, `keepalive`, the
two-factor step, `access` denials with a `param` list, and JSON in cloud-layer errors all follow Zomro's
panel source. The rescue rules follow the panel and OpenStack Nova (rescue from active or stopped). The
exact error texts, the captcha refusal's shape and whether a two-factor code may be reused are guesses.

Several accounts on one endpoint (`add_account`): evidence, BILLmanager is multi-user and every customer uses
the one API URL; each login (its session) sees only its own account's services (Zomro's panel reads
`func=instances` with the session of the logged-in user), so after the session is resolved every function runs
against the data of the session's user. A test device, not Zomro's behaviour: an added account gets the demo
account's instance ids by default, so ids overlap between accounts (Zomro's ids are global); the overlap lets the
product's tests prove that it never mixes two accounts up.
"""

from __future__ import annotations

import json
import secrets
import threading
import time

from .accounts import SPECIAL_USERS, Shared
from .answers import JSON, ApiRefusal, ok, text
from .listing import FILTER_FIELDS, edit, instance_filter, listing
from .recovery_calls import boot_from_iso, change_password, reboot, start, stop
from .rescue import rescue, unrescue
from .rescue_systems import RescueSystems
from .snapshots import backup_edit, backups, snapshot_edit, snapshots
from .state import (
    CAPTCHA_USERNAME,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    TOTP_SECRET,
    TOTP_USERNAME,
    Behaviour,
    Session,
    SimImage,
    SimInstance,
    default_images,
    default_instances,
)

__all__ = ["FILTER_FIELDS", "JSON", "ApiRefusal", "SimulatedAccount"]


class SimulatedAccount:
    """One account's data and the functions run against it; the HTTP front (`Simulator`) builds on the first.

    The simulator's own account (the demo, two-factor and captcha users see it) is the home of the endpoint: it
    holds what every account shares (the `Shared` attributes below). An account added with `add_account` holds
    only its own data and reaches the rest through the home (see accounts.py).
    """

    # The endpoint's: held by the home, the same for every account (settings, sessions, the lock).
    session_ttl = Shared[float]()
    transition_seconds = Shared[float]()  # how long rescuing / unrescuing last
    transition_lag = Shared[float]()  # how long an accepted request still shows the old state
    max_page_size = Shared[int | None]()  # BILLmanager may return fewer rows per page than asked for
    behaviour = Shared[Behaviour]()
    login_refusal = Shared[str | None]()  # a refusal `$object` every login gets (badip, blocked_ip …)
    used_codes = Shared[set[str]]()  # two-factor codes already presented (refused a second time: a guess)
    rescue_systems = Shared[RescueSystems | None]()  # what answers SSH for a rescued instance; None: nothing
    _lock = Shared[threading.Lock]()
    _sessions = Shared[dict[str, Session]]()  # one table: a session id names its user, hence its account
    _added = Shared[dict[str, "SimulatedAccount"]]()  # the accounts added with add_account, by login

    # The account's own data.
    _home: SimulatedAccount  # the account holding the shared attributes (the home itself for the home)
    username: str  # the login whose data these are (the home: the demo user's)
    password: str
    failing_rescues: set[int]  # instances whose rescue ends in the error state
    instances: dict[int, SimInstance]
    images: list[SimImage]
    saved_filter: dict[str, str]  # per account here; per user or per session at Zomro is unknown
    captured: dict[str, JSON]  # answers served verbatim (replay of a support capture)
    reports_total: bool  # whether the list says how many instances there are (p_elems)
    odd_rows: list[JSON]  # captured rows without a usable id, served on the first page as they came
    reported_total: int | None  # a captured total, served as it came

    def __init__(self, *, session_ttl: float, transition_seconds: float, max_page_size: int | None) -> None:
        self._home = self
        self.session_ttl = session_ttl
        self.transition_seconds = transition_seconds
        self.transition_lag = 0.0
        self.max_page_size = max_page_size
        self.behaviour = Behaviour()
        self.rescue_systems = None
        self._lock = threading.Lock()
        self.username, self.password = DEMO_USERNAME, DEMO_PASSWORD
        self.failing_rescues = set()
        self.reset_account()

    @classmethod
    def _joining(cls, home: SimulatedAccount, username: str, password: str) -> SimulatedAccount:
        """An account of `home`'s endpoint with its own default data (not __init__: that sets the home's)."""
        account = cls.__new__(cls)
        account._home = home
        account.username, account.password = username, password
        account.failing_rescues = set()
        account.reset_account()
        return account

    def reset_account(self) -> None:
        """Restore the default data (instances, images, no filter); the home also forgets sessions and accounts."""
        self.instances = default_instances()
        self.images = default_images()
        self.saved_filter = {}
        self.captured = {}
        self.reports_total, self.odd_rows, self.reported_total = True, [], None
        if self._home is self:
            self.used_codes = set()
            self.login_refusal = None
            self._sessions = {}
            self._added = {}

    def add_account(
        self, username: str, password: str, *, instances: dict[int, SimInstance] | None = None
    ) -> SimulatedAccount:
        """Register another login on this endpoint, with data of its own, and return its account.

        Its data are `instances` or a fresh copy of the demo account's defaults (same ids: see the module's
        docstring), and the default images. Change them, `failing_rescues`, `saved_filter` … on the returned
        object. The login works as the demo user's (auth, authinfo, `new_session`); reset forgets it.
        """
        with self._lock:
            if not username or username in SPECIAL_USERS or username in self._added:
                raise ValueError(f"the simulator already has a login {username!r}")
            account = SimulatedAccount._joining(self._home, username, password)
            if instances is not None:
                account.instances = instances
            self._added[username] = account
        return account

    def new_session(self, username: str | None = None) -> str:
        """Create a valid session for ``username`` (default: this account's user), as the panel would show it."""
        sid = secrets.token_hex(12)
        with self._lock:
            self._sessions[sid] = Session(username=username or self.username)
        return sid

    def expire_sessions(self) -> None:
        """Invalidate sessions: on the simulator every one (all accounts'), on an added account its own."""
        with self._lock:
            for sid, session in list(self._sessions.items()):
                if self._home is self or session.username == self.username:
                    del self._sessions[sid]

    def populate(self, count: int, *, first_id: int = 6000001) -> None:
        """Add `count` active instances to this account (a large account, for paging tests and benchmarks)."""
        with self._lock:
            for offset in range(count):
                number = first_id + offset
                self.instances[number] = SimInstance(
                    id=number, name=f"node-{offset + 1:05d}", ip=f"198.51.{offset // 250 % 256}.{offset % 250 + 1}"
                )

    def execute(self, fields: dict[str, str]) -> JSON:
        """Answer one request's fields (as whichever account's user its session names)."""
        with self._lock:
            try:
                return self._dispatch(fields)
            except ApiRefusal as refusal:
                return refusal.doc

    def _dispatch(self, fields: dict[str, str]) -> JSON:
        func = fields.get("func", "")
        if func == "auth":
            return self._auth(fields)
        if func == "logon":  # logout: the login page's function needs no valid session and always succeeds
            self._sessions.pop(fields.get("auth", ""), None)
            return ok()
        offered = self.behaviour.functions
        if offered is not None and func not in offered:
            raise ApiRefusal("missed", "func", f"Function {func} not found")
        session = self._session(fields)
        if session is None or (not session.confirmed and func not in ("whoami", "totp.confirm")):
            raise self.unauthorised(func)
        if func in self.behaviour.denied:
            raise ApiRefusal(
                "access",
                func,
                f"Insufficient privileges to perform function {func}",
                param=[{"$name": "value", "$": func}],
            )
        account = self._account_of(session.username)  # from here on, only the session's user's data
        if func in account.captured and "sok" not in fields:
            return account.captured[func]
        handler = _HANDLERS.get(func)
        if handler is None:
            raise ApiRefusal("missed", "func", f"Function {func} not found")
        return handler(account, fields, session)

    def _account_of(self, username: str) -> SimulatedAccount:
        """Whose data a session of `username` sees: its added account's, else the simulator's own."""
        return self._added.get(username, self._home)

    def _password_of(self, username: str) -> str | None:
        """The password of a login the endpoint knows (an added account's, or a special user's), else None."""
        added = self._added.get(username)
        return added.password if added is not None else SPECIAL_USERS.get(username)

    def _auth(self, fields: dict[str, str]) -> JSON:
        username = fields.get("username", "")
        if not username or self._password_of(username) != fields.get("password"):
            raise ApiRefusal("auth", "badpassword", "Invalid username or password")
        if self.login_refusal is not None:
            raise ApiRefusal("auth", self.login_refusal, f"Login refused ({self.login_refusal})")
        if username == CAPTCHA_USERNAME:  # the shape of a reCAPTCHA refusal is a guess: no evidence shows one
            raise ApiRefusal("auth", "recaptcha", "reCAPTCHA validation failed")
        sid = secrets.token_hex(12)
        self._sessions[sid] = Session(username=username, confirmed=username != TOTP_USERNAME)
        return {"doc": {"auth": {"$id": sid, "$level": "16", "$": sid}}}

    def _session(self, fields: dict[str, str]) -> Session | None:
        session = self._sessions.get(fields.get("auth", ""))
        if session is not None:
            now = time.monotonic()
            if now - session.last_used <= self.session_ttl:
                session.last_used = now
                return session
            del self._sessions[fields["auth"]]
        login, sep, password = fields.get("authinfo", "").partition(":")
        if sep and self._password_of(login) == password and login != TOTP_USERNAME:
            return Session(username=login)
        return None

    def unauthorised(self, func: str) -> ApiRefusal:
        """A dead session: Zomro's panel sees "access"; other BILLmanager clients see "auth"."""
        if self.behaviour.expired_session_error == "auth":
            return ApiRefusal("auth", "sessionexpired", "Session expired, log in again")
        return ApiRefusal("access", func, f"Insufficient privileges to perform function {func}")

    def field_error(self, field: str, message: str) -> ApiRefusal:
        """A cloud-layer refusal of one field: JSON in the message (evidence), or plain text (legacy)."""
        if self.behaviour.json_errors:
            return ApiRefusal("value", "", json.dumps({field: [message]}))
        return ApiRefusal("value", field, message)

    def instance(self, fields: dict[str, str]) -> SimInstance:
        """This account's instance named by `elid` (settled to now), or the refusal of an unknown one."""
        elid = fields.get("elid", "")
        instance = self.instances.get(int(elid)) if elid.isascii() and elid.isdigit() else None
        if instance is None:
            raise ApiRefusal("missed", "elid", f"Instance {elid} not found")
        instance.settle()
        return instance


def _whoami(account: SimulatedAccount, fields: dict[str, str], session: Session) -> JSON:
    if not session.confirmed:
        return ok("func=totp.confirm")
    user = {  # the panel reads $realname, $email, $id, $phone and $balance
        "$realname": "Demo User",
        "$email": session.username,
        "$id": "100042",
        "$name": session.username,
        "$phone": "+31 20 555 0101",
        "$balance": "12.34",
        "$": session.username,
    }
    return {"doc": {"user": user}}


def _totp_confirm(account: SimulatedAccount, fields: dict[str, str], session: Session) -> JSON:
    import pyotp

    code = fields.get("qrcode", "")
    # A code presented twice is refused, and in the words of a wrong one (RFC 6238 5.2: a one-time code counts
    # once). Whether Zomro refuses it, and how, is unknown: the strict guess; the panel shows any refusal alike.
    if "sok" not in fields or code in account.used_codes or not pyotp.TOTP(TOTP_SECRET).verify(code, valid_window=1):
        raise ApiRefusal("value", "qrcode", "Invalid confirmation code")
    account.used_codes.add(code)
    account._sessions.pop(fields.get("auth", ""), None)
    sid = secrets.token_hex(12)
    account._sessions[sid] = Session(username=session.username)
    return {"doc": {"auth": {"$id": sid, "$": sid}, "ok": text("func=desktop")}}


def _keepalive(account: SimulatedAccount, fields: dict[str, str], session: Session) -> JSON:
    return ok()


_HANDLERS = {
    "whoami": _whoami,
    "totp.confirm": _totp_confirm,
    "keepalive": _keepalive,
    "instances": listing,
    "instances.filter": instance_filter,
    "instances.edit": edit,
    "instances.fleio.rescue": rescue,
    "instances.fleio.unrescue": unrescue,
    "service.reboot": reboot,
    "service.start": start,
    "service.stop": stop,
    "instances.fleio.boot_from_iso": boot_from_iso,
    "instances.fleio.changepassword": change_password,
    "instances.snapshots": snapshots,
    "instances.snapshots.edit": snapshot_edit,
    "instances.fleio_bckps": backups,
    "instances.fleio_bckps.edit": backup_edit,
}
