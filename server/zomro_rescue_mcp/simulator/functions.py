"""The BILLmanager functions of the simulated account: form fields in, a `{"doc": …}` answer out.

Where each behaviour comes from (the project's API notes): the list row with `instance_status`, billing
`status`/`item_status` and paging, the saved list filter, `instances.edit` as a form, `keepalive`, the
two-factor step, `access` denials with a `param` list, and JSON in cloud-layer errors all follow Zomro's
panel source. The rescue rules follow the panel and OpenStack Nova (rescue from active or stopped). The
exact error texts, the captcha refusal's shape and whether a two-factor code may be reused are guesses.
"""

from __future__ import annotations

import json
import secrets
import threading
import time

from .answers import JSON, ApiRefusal, ok, text
from .listing import FILTER_FIELDS, edit, instance_filter, listing
from .rescue import rescue, unrescue
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

_USERS = {DEMO_USERNAME: DEMO_PASSWORD, TOTP_USERNAME: DEMO_PASSWORD, CAPTCHA_USERNAME: DEMO_PASSWORD}


class SimulatedAccount:
    """The account's data and its functions; the HTTP front (`Simulator`) builds on it."""

    def __init__(self, *, session_ttl: float, transition_seconds: float, max_page_size: int | None) -> None:
        self.session_ttl = session_ttl
        self.transition_seconds = transition_seconds  # how long rescuing / unrescuing last
        self.transition_lag = 0.0  # how long an accepted request still shows the old state
        self.max_page_size = max_page_size  # BILLmanager may return fewer rows per page than asked for
        self.failing_rescues: set[int] = set()  # instances whose rescue ends in the error state
        self.behaviour = Behaviour()
        self.login_refusal: str | None = None  # a refusal `$object` every login gets (badip, blocked_ip …)
        self._lock = threading.Lock()
        self.instances: dict[int, SimInstance] = {}
        self.images: list[SimImage] = []
        self.saved_filter: dict[str, str] = {}  # per account here; per user or per session at Zomro is unknown
        self.captured: dict[str, JSON] = {}  # answers served verbatim (replay of a support capture)
        self.reports_total = True  # whether the list says how many instances there are (p_elems)
        self.odd_rows: list[JSON] = []  # captured rows without a usable id, served on the first page as they came
        self.reported_total: int | None = None  # a captured total, served as it came
        self.used_codes: set[str] = set()  # two-factor codes already presented (refused a second time: a guess)
        self._sessions: dict[str, Session] = {}
        self.reset_account()

    def reset_account(self) -> None:
        """Restore the default account: instances, images, no filter, no sessions."""
        self.instances = default_instances()
        self.images = default_images()
        self.saved_filter = {}
        self.captured = {}
        self.reports_total, self.odd_rows, self.reported_total = True, [], None
        self.used_codes = set()
        self.login_refusal = None
        self._sessions = {}

    def new_session(self, username: str = DEMO_USERNAME) -> str:
        """Create a valid session for ``username``, as a token the user could paste from the panel."""
        sid = secrets.token_hex(12)
        with self._lock:
            self._sessions[sid] = Session(username=username)
        return sid

    def expire_sessions(self) -> None:
        """Invalidate every existing session."""
        with self._lock:
            self._sessions.clear()

    def populate(self, count: int, *, first_id: int = 6000001) -> None:
        """Add `count` active instances (a large account, for paging tests and benchmarks)."""
        with self._lock:
            for offset in range(count):
                number = first_id + offset
                self.instances[number] = SimInstance(
                    id=number, name=f"node-{offset + 1:05d}", ip=f"198.51.{offset // 250 % 256}.{offset % 250 + 1}"
                )

    def execute(self, fields: dict[str, str]) -> JSON:
        """Answer one request's fields."""
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
        if func in self.captured and "sok" not in fields:
            return self.captured[func]
        handler = _HANDLERS.get(func)
        if handler is None:
            raise ApiRefusal("missed", "func", f"Function {func} not found")
        return handler(self, fields, session)

    def _auth(self, fields: dict[str, str]) -> JSON:
        username = fields.get("username", "")
        if not username or _USERS.get(username) != fields.get("password"):
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
        if sep and _USERS.get(login) == password and login != TOTP_USERNAME:
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
    if "sok" not in fields or not pyotp.TOTP(TOTP_SECRET).verify(code, valid_window=1):
        raise ApiRefusal("value", "qrcode", "Invalid confirmation code")
    if code in account.used_codes:  # whether Zomro refuses a code presented twice is unknown; the strict guess
        raise ApiRefusal("value", "qrcode", "This confirmation code was already used")
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
}
