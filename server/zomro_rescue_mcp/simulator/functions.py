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
import string
import threading
import time
from collections.abc import Callable
from typing import Any

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

__all__ = ["ApiRefusal", "SimulatedAccount"]

JSON = dict[str, Any]
FILTER_FIELDS = ("id", "ip", "instance_status", "pricelist", "datacenter", "orderdatefrom", "orderdateto", "status")
_ZONE_ORDER = ("pub", "own", "shr")
_RESCUABLE = ("active", "stopped")  # OpenStack Nova rescues only these
_UNRESCUABLE = ("rescued", "booted_from_iso")
_BUSY_STATES = ("rescuing", "unrescuing", "rebooting", "rebuilding", "starting", "stopping", "resizing")
_FORBIDDEN_PASSWORD_CHARS = frozenset("\"#%&'()*;<>?@|")
_PRINTABLE_NO_SPACE = frozenset(chr(c) for c in range(0x21, 0x7F))
_USERS = {DEMO_USERNAME: DEMO_PASSWORD, TOTP_USERNAME: DEMO_PASSWORD, CAPTCHA_USERNAME: DEMO_PASSWORD}


class ApiRefusal(Exception):
    """A BILLmanager error answer (delivered with HTTP 200)."""

    def __init__(self, type_: str, object_: str, msg: str, **extra: Any) -> None:
        super().__init__(msg)
        self.doc: JSON = {"doc": {"error": {"$type": type_, "$object": object_, "msg": {"$": msg}, **extra}}}


def _one_or_many(items: list[Any]) -> Any:
    """BILLmanager quirk: a repeated element is an array, a single one is a bare object."""
    return items[0] if len(items) == 1 else items


def _text(value: object) -> dict[str, str]:
    return {"$": str(value)}


def _ok(target: str | None = None) -> JSON:
    return {"doc": {"ok": _text(target) if target is not None else {}}}


def _password_acceptable(password: str) -> bool:
    """The panel's rescue password policy, enforced here as the strictest plausible server-side check."""
    return (
        8 <= len(password) <= 48
        and any(c in string.ascii_uppercase for c in password)
        and any(c in string.ascii_lowercase for c in password)
        and any(c in string.digits for c in password)
        and all(c in _PRINTABLE_NO_SPACE and c not in _FORBIDDEN_PASSWORD_CHARS for c in password)
    )


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
            return _ok()
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
        return _ok("func=totp.confirm")
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
    return {"doc": {"auth": {"$id": sid, "$": sid}, "ok": _text("func=desktop")}}


def _keepalive(account: SimulatedAccount, fields: dict[str, str], session: Session) -> JSON:
    return _ok()


def _row(instance: SimInstance) -> JSON:
    if instance.raw_row is not None:  # a captured row keeps its shape; only the state moves
        return {**instance.raw_row, "instance_status": _text(instance.status)}
    return {
        "id": _text(instance.id),
        "servername": _text(instance.name),
        "instance_status": _text(instance.status),
        "item_status": {"$orig": instance.billing_status, "$": instance.item_status},
        "status": _text(instance.billing_status),
        "ip": _text(instance.ip),
        "ip_v6": _text(instance.ip_v6),
        "datacentername": _text(instance.datacenter),
        "os_distro": _text(instance.os_distro),
        "os_version": _text(instance.os_version),
        "pricelist": _text("Cloud VPS 1"),
        "cost": _text("5.00 EUR"),
        "createdate": [_text("2025-01-15")],  # seen as an array in the panel's data
    }


def _passes(instance: SimInstance, saved: dict[str, str]) -> bool:
    checks: dict[str, Callable[[str], bool]] = {
        "id": lambda v: str(instance.id) == v,
        "ip": lambda v: v in instance.ip or (bool(instance.ip_v6) and v in instance.ip_v6),
        "instance_status": lambda v: instance.status == v,
        "datacenter": lambda v: instance.datacenter == v,
        "status": lambda v: instance.billing_status == v,
    }
    return all(checks[name](value) for name, value in saved.items() if value and name in checks)


def _list(account: SimulatedAccount, fields: dict[str, str], session: Session) -> JSON:
    p_cnt = int(fields["p_cnt"]) if fields.get("p_cnt", "").isdigit() and int(fields["p_cnt"]) > 0 else 100
    p_num = int(fields["p_num"]) if fields.get("p_num", "").isdigit() and int(fields["p_num"]) > 0 else 1
    if account.max_page_size is not None:
        p_cnt = min(p_cnt, account.max_page_size)
    shown = [i for i in account.instances.values() if _passes(i, account.saved_filter)]
    for instance in shown:
        instance.settle()
    page = shown[(p_num - 1) * p_cnt : p_num * p_cnt]
    rows = [_row(i) for i in page] + (account.odd_rows if p_num == 1 else [])
    doc: JSON = {}
    if rows:
        doc["elem"] = _one_or_many(rows)
    total = account.reported_total if account.reported_total is not None else len(shown) + len(account.odd_rows)
    if account.reports_total:
        doc["p_elems"] = _text(total)
    doc.update(p_num=_text(p_num), p_cnt=_text(p_cnt))
    return {"doc": doc}


def _filter(account: SimulatedAccount, fields: dict[str, str], session: Session) -> JSON:
    if "sok" in fields:  # what the panel sends to set it; the product never does
        account.saved_filter = {name: fields.get(name, "") for name in FILTER_FIELDS}
        return _ok()
    return {"doc": {name: _text(account.saved_filter.get(name, "")) for name in FILTER_FIELDS}}


def _edit(account: SimulatedAccount, fields: dict[str, str], session: Session) -> JSON:
    instance = account.instance(fields)
    if "sok" in fields:
        return _ok("func=instances")
    doc: JSON = {
        "elid": _text(instance.id),
        "createdate": _text("2025-01-15"),
        "fotbo_id": _text(f"f{instance.id}"),
        "ip": _text(instance.ip),
        "ip_v6": _text(instance.ip_v6),
        "rdns_record": _text(""),
        "slist": [{"$name": "Memory", "val": {"$key": "2048", "$": "2 GB (5.00 EUR)"}}],
    }
    if account.behaviour.state_in_edit:  # the earlier guess: the form also carries the list's fields
        doc.update({k: v for k, v in _row(instance).items() if k != "id"})
    return {"doc": doc}


def _rescue(account: SimulatedAccount, fields: dict[str, str], session: Session) -> JSON:
    instance = account.instance(fields)
    if "sok" not in fields:
        return _rescue_form(account, instance)
    image = next((i for i in account.images if i.id == fields.get("select_boot")), None)
    if image is None:
        raise account.field_error("select_boot", "This image is not available for rescue")
    if fields.get("zone") != image.zone:
        raise account.field_error("zone", "The image does not belong to the selected zone")
    password = fields.get("password", "")
    if password and not _password_acceptable(password):
        raise account.field_error("password", "The password does not meet the requirements")
    if instance.status in _BUSY_STATES:
        raise ApiRefusal("value", "runningoperation", "Another operation is running on this instance")
    if instance.status == "rescued":
        raise account.field_error("instance_status", "The instance is already in rescue mode")
    if instance.status not in _RESCUABLE:
        raise account.field_error("instance_status", f"Cannot rescue an instance in state {instance.status}")
    ends_in = "error" if instance.id in account.failing_rescues else "rescued"
    instance.begin("rescuing", ends_in, account.transition_seconds, account.transition_lag)
    instance.rescue_image = image.id
    return _ok("func=instances")


def _rescue_form(account: SimulatedAccount, instance: SimInstance) -> JSON:
    present = [image.zone for image in account.images]
    zones = [z for z in _ZONE_ORDER if z in present]
    zones += [z for z in dict.fromkeys(present) if z not in _ZONE_ORDER]
    boot: list[JSON] = []
    if account.images:
        boot.append({"$depend": "pub", "$key": "null", "$": "-- select --"})  # placeholders: clients skip them
    for image in account.images:
        entry: JSON = {"$depend": image.zone, "$key": image.id, "$": image.os}
        if image.name:
            entry["$name"] = image.name
        boot.append(entry)
    slist = [
        {"$name": "zone", "val": _one_or_many([{"$key": z, "$": z} for z in zones])},
        {"$name": "select_boot", "val": _one_or_many(boot)},
    ]
    default = account.images[0].id if account.images else "null"
    return {"doc": {"elid": _text(instance.id), "select_boot": _text(default), "slist": slist}}


def _unrescue(account: SimulatedAccount, fields: dict[str, str], session: Session) -> JSON:
    instance = account.instance(fields)  # executes without sok, as the article documents and the panel sends it
    if instance.status in _BUSY_STATES:
        raise ApiRefusal("value", "runningoperation", "Another operation is running on this instance")
    if instance.status not in _UNRESCUABLE:
        raise account.field_error("instance_status", "The instance is not in rescue mode")
    instance.begin("unrescuing", "active", account.transition_seconds, account.transition_lag)
    instance.rescue_image = None
    return _ok("func=instances")


_HANDLERS = {
    "whoami": _whoami,
    "totp.confirm": _totp_confirm,
    "keepalive": _keepalive,
    "instances": _list,
    "instances.filter": _filter,
    "instances.edit": _edit,
    "instances.fleio.rescue": _rescue,
    "instances.fleio.unrescue": _unrescue,
}
