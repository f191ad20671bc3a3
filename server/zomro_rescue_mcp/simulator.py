"""A stand-in of the Zomro BILLmanager API, so the product can be run, demonstrated and tested offline.

It speaks the wire protocol described in the project's API notes: form fields in, ``{"doc": ...}`` JSON out,
errors on HTTP 200, sessions, the rescue preview/submit/unrescue functions, and injectable edge faults.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any, Literal

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEMO_USERNAME = "demo@example.com"
DEMO_PASSWORD = "Demo-Passw0rd"
TOTP_USERNAME = "totp@example.com"

_ACCOUNTS = {DEMO_USERNAME: DEMO_PASSWORD, TOTP_USERNAME: DEMO_PASSWORD}
_TOTP_ACCOUNTS = frozenset({TOTP_USERNAME})
_ZONE_ORDER = ("pub", "own", "shr")
_RESCUABLE = ("active", "stopped", "error")
_UNRESCUABLE = ("rescued", "booted_from_iso")
_FORBIDDEN_PASSWORD_CHARS = frozenset("\"#%&'()*;<>?@|")
_PRINTABLE_NO_SPACE = frozenset(chr(c) for c in range(0x21, 0x7F))
_LONG_PATH = "/longbillmgr"
_JSON = dict[str, Any]


@dataclass(frozen=True)
class SimImage:
    """One rescue image as offered by the rescue preview."""

    id: str
    os: str
    zone: str
    name: str | None = None


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
    rescue_image: str | None = None
    starts_at: float | None = None  # after an accepted request: when the old state gives way to `starts_as`
    starts_as: str | None = None
    settles_at: float | None = None  # while transitional: when the status becomes `settles_to`
    settles_to: str | None = None

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
        if self.starts_at is None and settled and self.settles_to is not None:
            self.status, self.settles_at, self.settles_to = self.settles_to, None, None


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the simulator received it, for assertions about what the product sent."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    fields: dict[str, str]
    func: str
    mutating: bool


@dataclass(frozen=True)
class Fault:
    """A misbehaviour of the API edge or of BILLmanager, applied to the next matching request(s)."""

    kind: Literal["delay", "http_status", "invalid_json", "lost_answer", "long", "long_expired", "session_expired"]
    func: str | None = None
    seconds: float = 0.0
    status: int = 502
    times: int = 1
    mutating: bool | None = None  # None: any request; True/False: only mutating / only read requests


@dataclass
class _Session:
    username: str
    last_used: float


@dataclass
class _LongAnswer:
    answer: _JSON
    html: str
    pending_pages: int = 1


class _ApiError(Exception):
    """A BILLmanager error answer (delivered with HTTP 200)."""

    def __init__(self, type_: str, object_: str, msg: str) -> None:
        super().__init__(msg)
        self.doc = _error(type_, object_, msg)


_UBUNTU_2204 = "f8f2573f-56c4-44c5-8469-84eee4aa64e7"
_PUBLIC_IMAGES = (
    (_UBUNTU_2204, "Ubuntu 22.04"),
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


def _default_images() -> list[SimImage]:
    images = [SimImage(id=key, os=label, zone="pub") for key, label in _PUBLIC_IMAGES]
    images.append(SimImage(id="a9e7c223-5f11-4546-a298-6af546bebde6", os="Centos 9 x64", zone="own", name="foo"))
    images.append(
        SimImage(
            id="5c1f6f7e-2b0c-4c55-9d3e-6a0f3b1d2e41", os="Debian 12 (support tools)", zone="shr", name="support-rescue"
        )
    )
    return images


def _default_instances() -> dict[int, SimInstance]:
    return {
        5203773: SimInstance(id=5203773, name="web-1", ip="203.0.113.10"),
        5203774: SimInstance(id=5203774, name="db-1", ip="203.0.113.11"),
        5203775: SimInstance(
            id=5203775, name="legacy-1", status="rescued", ip="203.0.113.12", rescue_image=_UBUNTU_2204
        ),
        5203776: SimInstance(
            id=5203776, name="mail-1", status="error", ip="203.0.113.13", os_distro="Debian", os_version="12"
        ),
    }


def _one_or_many(items: list[Any]) -> Any:
    """BILLmanager quirk: a repeated element is an array, a single one is a bare object."""
    return items[0] if len(items) == 1 else items


def _error(type_: str, object_: str, msg: str) -> _JSON:
    return {"doc": {"error": {"$type": type_, "$object": object_, "msg": {"$": msg}}}}


def _text(value: object) -> dict[str, str]:
    return {"$": str(value)}


def _ok(target: str | None = None) -> _JSON:
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


def _edge_error_page(status: int) -> str:
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = f"{status} Error"
    return (
        f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center>"
        "<hr><center>nginx</center></body></html>"
    )


class Simulator:
    """The simulated API: account, instances, images, sessions, a request log and a fault queue."""

    def __init__(
        self,
        *,
        session_ttl: float = 3600.0,
        expired_session_error: Literal["access", "auth"] = "access",
        transition_seconds: float = 3.0,
        max_page_size: int | None = None,
    ) -> None:
        self.session_ttl = session_ttl
        self.transition_seconds = transition_seconds  # how long rescuing / unrescuing last
        self.transition_lag = 0.0  # how long an accepted request still shows the old state
        self.max_page_size = max_page_size  # BILLmanager may return fewer rows per page than asked for
        self.failing_rescues: set[int] = set()  # instances whose rescue ends in the error state
        self.expired_session_error: Literal["access", "auth"] = expired_session_error
        self._lock = threading.Lock()
        self.instances: dict[int, SimInstance] = {}
        self.images: list[SimImage] = []
        self.requests: list[RecordedRequest] = []
        self._sessions: dict[str, _Session] = {}
        self._faults: list[Fault] = []
        self._long_answers: dict[str, _LongAnswer] = {}
        self._stopping = threading.Event()
        self.reset()
        methods = ["GET", "POST"]
        self.app = Starlette(
            routes=[
                Route("/", self._handle_api, methods=methods),
                Route("/billmgr", self._handle_api, methods=methods),
                Route(_LONG_PATH, self._handle_long, methods=methods),
            ]
        )

    # --- test and demo controls -------------------------------------------------------------------------

    def reset(self) -> None:
        """Restore the default account state and forget requests, sessions and faults."""
        with self._lock:
            self.instances = _default_instances()
            self.images = _default_images()
            self.requests = []
            self._sessions = {}
            self._faults = []
            self._long_answers = {}

    def inject(self, fault: Fault) -> None:
        """Queue a fault for the next matching request(s)."""
        with self._lock:
            self._faults.append(fault)

    def new_session(self, username: str = DEMO_USERNAME) -> str:
        """Create a valid session for ``username``, as a token the user could paste from the panel."""
        sid = secrets.token_hex(12)
        with self._lock:
            self._sessions[sid] = _Session(username=username, last_used=time.monotonic())
        return sid

    def expire_sessions(self) -> None:
        """Invalidate every existing session."""
        with self._lock:
            self._sessions.clear()

    def mutating_requests(self) -> list[RecordedRequest]:
        """The requests that asked for a change (a form submit or an unrescue)."""
        with self._lock:
            return [r for r in self.requests if r.mutating]

    def calls(self, func: str) -> list[RecordedRequest]:
        """The requests made to one function."""
        with self._lock:
            return [r for r in self.requests if r.func == func]

    # --- HTTP layer ------------------------------------------------------------------------------------

    async def _record(self, request: Request) -> RecordedRequest:
        query = dict(request.query_params.items())
        fields = dict(query)
        form = await request.form()
        try:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    fields[key] = (await value.read()).decode("utf-8", errors="replace")
                else:
                    fields[key] = value
        finally:
            await form.close()
        func = fields.get("func", "")
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=query,
            content_type=request.headers.get("content-type", ""),
            fields=fields,
            func=func,
            mutating="sok" in fields or func == "instances.fleio.unrescue",
        )
        with self._lock:
            self.requests.append(recorded)
        return recorded

    def _take_fault(self, recorded: RecordedRequest) -> Fault | None:
        func = recorded.func
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.mutating is not None and fault.mutating != recorded.mutating:
                    continue
                if fault.func == func or (fault.func is None and func not in ("auth", "whoami")):
                    if fault.times <= 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = replace(fault, times=fault.times - 1)
                    return fault
        return None

    async def _handle_api(self, request: Request) -> Response:
        recorded = await self._record(request)
        fault = self._take_fault(recorded)
        if fault is not None and fault.kind == "session_expired":
            # The session dies just before this request arrives: refused, not executed.
            with self._lock:
                self._sessions.pop(recorded.fields.get("auth", ""), None)
            return JSONResponse(self._unauthorised(recorded.func).doc)
        if fault is not None and fault.kind == "http_status":
            return Response(_edge_error_page(fault.status), status_code=fault.status, media_type="text/html")
        if fault is not None and fault.kind == "delay":
            await self._hang(request, fault.seconds)
        answer = self._execute(recorded.fields)
        if fault is None or fault.kind == "delay":
            return JSONResponse(answer)
        if fault.kind == "invalid_json":
            return Response('{"doc": {"ok": ', media_type="application/json")
        if fault.kind == "lost_answer":
            await self._hang(request, fault.seconds)
            return JSONResponse(answer)
        if fault.kind == "long_expired":
            # The operation runs, but the wait page's session dies before the final answer is fetched.
            answer = self._unauthorised(recorded.func).doc
        # "long": BILLmanager answers a page whose link must be fetched (repeatedly) for the final JSON.
        token = secrets.token_hex(12)
        host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
        url = f"{request.url.scheme}://{host}{_LONG_PATH}?elid={token}&func=longwait"
        html = f'<html><body>Operation in progress. <a href="{url}">wait</a></body></html>'
        with self._lock:
            self._long_answers[token] = _LongAnswer(answer=answer, html=html)
        return Response(html, media_type="text/html")

    async def _hang(self, request: Request, seconds: float) -> None:
        """Sleep, but give up early once the client is gone or the server stops, so shutdown stays quick."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0 and not self._stopping.is_set():
            if await request.is_disconnected():
                return
            await anyio.sleep(min(left, 0.05))

    async def _handle_long(self, request: Request) -> Response:
        recorded = await self._record(request)
        token = recorded.fields.get("elid", "")
        with self._lock:
            pending = self._long_answers.get(token)
            if pending is None:
                return JSONResponse(_error("missed", "elid", f"Operation {token} not found"))
            if pending.pending_pages > 0:
                pending.pending_pages -= 1
                return Response(pending.html, media_type="text/html")
            return JSONResponse(pending.answer)

    # --- BILLmanager functions -------------------------------------------------------------------------

    def _execute(self, fields: dict[str, str]) -> _JSON:
        with self._lock:
            try:
                return self._dispatch(fields)
            except _ApiError as error:
                return error.doc

    def _dispatch(self, fields: dict[str, str]) -> _JSON:
        func = fields.get("func", "")
        if func == "auth":
            return self._auth(fields)
        if func == "logon":
            # Logout is the login page function: it needs no valid session and always succeeds.
            self._sessions.pop(fields.get("auth", ""), None)
            return _ok()
        username = self._authenticate(fields)
        if username is None or (username in _TOTP_ACCOUNTS and func != "whoami"):
            raise self._unauthorised(func)
        if func == "whoami":
            if username in _TOTP_ACCOUNTS:
                return _ok("func=totp.confirm")
            return {"doc": {"user": _text(username)}}
        if func == "keepalive":
            return _ok()
        if func == "instances":
            return self._list(fields)
        if func == "instances.edit":
            instance = self._instance(fields)
            if "sok" in fields:
                return _ok("func=instances")
            return {"doc": {"elid": _text(instance.id), **self._instance_fields(instance)}}
        if func == "instances.fleio.rescue":
            instance = self._instance(fields)
            if "sok" not in fields:
                return self._rescue_form(instance)
            return self._rescue(instance, fields)
        if func == "instances.fleio.unrescue":
            return self._unrescue(self._instance(fields))
        raise _ApiError("missed", "func", f"Function {func} not found")

    def _auth(self, fields: dict[str, str]) -> _JSON:
        username = fields.get("username", "")
        if not username or _ACCOUNTS.get(username) != fields.get("password"):
            raise _ApiError("auth", "badpassword", "Invalid username or password")
        sid = secrets.token_hex(12)
        self._sessions[sid] = _Session(username=username, last_used=time.monotonic())
        return {"doc": {"auth": {"$id": sid, "$level": "16", "$": sid}}}

    def _authenticate(self, fields: dict[str, str]) -> str | None:
        now = time.monotonic()
        session = self._sessions.get(fields.get("auth", ""))
        if session is not None:
            if now - session.last_used <= self.session_ttl:
                session.last_used = now
                return session.username
            del self._sessions[fields["auth"]]
        login, sep, password = fields.get("authinfo", "").partition(":")
        if sep and _ACCOUNTS.get(login) == password:
            return login
        return None

    def _unauthorised(self, func: str) -> _ApiError:
        # Zomro's panel sees "access" for a dead session; other BILLmanager clients see "auth".
        if self.expired_session_error == "auth":
            return _ApiError("auth", "sessionexpired", "Session expired, log in again")
        return _ApiError("access", func, f"Insufficient privileges to perform function {func}")

    def _instance(self, fields: dict[str, str]) -> SimInstance:
        elid = fields.get("elid", "")
        instance = self.instances.get(int(elid)) if elid.isdigit() else None
        if instance is None:
            raise _ApiError("missed", "elid", f"Instance {elid} not found")
        instance.settle()
        return instance

    @staticmethod
    def _instance_fields(instance: SimInstance) -> dict[str, Any]:
        return {
            "servername": _text(instance.name),
            "name": _text(instance.name),
            "instance_status": _text(instance.status),
            "item_status": {"$orig": "2", "$": "Active"},
            "status": _text("2"),
            "ip": _text(instance.ip),
            "ip_v6": _text(instance.ip_v6),
            "datacentername": _text(instance.datacenter),
            "os_distro": _text(instance.os_distro),
            "os_version": _text(instance.os_version),
            "pricelist": _text("Cloud VPS 1"),
            "cost": _text("5.00 EUR"),
            "createdate": _text("2025-01-15"),
        }

    def _list(self, fields: dict[str, str]) -> _JSON:
        p_cnt = int(fields["p_cnt"]) if fields.get("p_cnt", "").isdigit() and int(fields["p_cnt"]) > 0 else 100
        p_num = int(fields["p_num"]) if fields.get("p_num", "").isdigit() and int(fields["p_num"]) > 0 else 1
        if self.max_page_size is not None:
            p_cnt = min(p_cnt, self.max_page_size)
        everything = list(self.instances.values())
        for instance in everything:
            instance.settle()
        page = everything[(p_num - 1) * p_cnt : p_num * p_cnt]
        doc: _JSON = {}
        if page:
            doc["elem"] = _one_or_many([{"id": _text(i.id), **self._instance_fields(i)} for i in page])
        doc.update(p_elems=_text(len(everything)), p_num=_text(p_num), p_cnt=_text(p_cnt))
        return {"doc": doc}

    def _rescue_form(self, instance: SimInstance) -> _JSON:
        present = [image.zone for image in self.images]
        zones = [z for z in _ZONE_ORDER if z in present]
        zones += [z for z in dict.fromkeys(present) if z not in _ZONE_ORDER]
        boot: list[_JSON] = []
        if self.images:
            # The real form carries placeholder entries; clients must skip $key "null".
            boot.append({"$depend": "pub", "$key": "null", "$": "-- select --"})
        for image in self.images:
            entry: _JSON = {"$depend": image.zone, "$key": image.id, "$": image.os}
            if image.name:
                entry["$name"] = image.name
            boot.append(entry)
        slist = [
            {"$name": "zone", "val": _one_or_many([{"$key": z, "$": z} for z in zones])},
            {"$name": "select_boot", "val": _one_or_many(boot)},
        ]
        return {"doc": {"elid": _text(instance.id), "slist": slist}}

    def _rescue(self, instance: SimInstance, fields: dict[str, str]) -> _JSON:
        # The article's "select_boot_from_iso" is not a rescue field: only select_boot is read.
        image = next((i for i in self.images if i.id == fields.get("select_boot")), None)
        if image is None:
            raise _ApiError("value", "select_boot", "Invalid value of field select_boot")
        if fields.get("zone") != image.zone:
            raise _ApiError("value", "zone", "The image does not belong to the selected zone")
        password = fields.get("password", "")
        if password and not _password_acceptable(password):
            raise _ApiError("value", "password", "Invalid value of field password")
        if instance.status == "rescued":
            raise _ApiError("value", "instance_status", "The instance is already in rescue mode")
        if instance.status not in _RESCUABLE:
            raise _ApiError("value", "runningoperation", "Another operation is running on this instance")
        ends_in = "error" if instance.id in self.failing_rescues else "rescued"
        instance.begin("rescuing", ends_in, self.transition_seconds, self.transition_lag)
        instance.rescue_image = image.id
        return _ok("func=instances")

    def _unrescue(self, instance: SimInstance) -> _JSON:
        # Unrescue executes without sok, as the article documents and the panel sends it.
        if instance.status not in _UNRESCUABLE:
            raise _ApiError("value", "instance_status", "The instance is not in rescue mode")
        instance.begin("unrescuing", "active", self.transition_seconds, self.transition_lag)
        instance.rescue_image = None
        return _ok("func=instances")


def run_on_loopback(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve ``sim.app`` with uvicorn in a daemon thread; return its base URL and a function that stops it."""
    from .loopback import serve_on_loopback

    sim._stopping.clear()
    return serve_on_loopback(sim.app, host=host, port=port, on_stop=sim._stopping.set)
