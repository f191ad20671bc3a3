"""The simulated API's HTTP front: form fields in (multipart, urlencoded or a query string), JSON out, a record
of every request, injectable edge faults, long-operation pages, and an optional delay per request.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Literal

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .functions import JSON, ApiRefusal, SimulatedAccount
from .rescue_systems import RescueSystem, RescueSystems
from .state import EXECUTED_WITHOUT_SOK, LOGIN_FUNCTIONS, Behaviour

__all__ = ["Fault", "RecordedRequest", "Simulator", "run_on_loopback"]

LONG_PATH = "/long"  # the panel GETs `long…billmgr` relative to the API's base URL


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

    kind: Literal[
        "delay",
        "http_status",
        "invalid_json",
        "lost_answer",
        "long",
        "long_expired",
        "session_expired",
        "body",
        "padded",
        "deep",
    ]
    func: str | None = None
    seconds: float = 0.0
    status: int = 502
    times: int = 1
    mutating: bool | None = None  # None: any request; True/False: only mutating / only read requests
    body: str = ""  # "body": the answer's text, served as JSON instead of executing the request
    size: int = 0  # "padded": characters added to the executed request's answer; "deep": levels of nesting


@dataclass
class _LongAnswer:
    answer: JSON
    html: str
    pending_pages: int = 1


def _edge_error_page(status: int) -> str:
    try:
        title = f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        title = f"{status} Error"
    return (
        f"<html><head><title>{title}</title></head><body><center><h1>{title}</h1></center>"
        "<hr><center>nginx</center></body></html>"
    )


class Simulator(SimulatedAccount):
    """The simulated API: the demo account (see functions.py) and any added with `add_account`, a request log, a
    fault queue and the Starlette app (the log, faults, latency and `behaviour` are the endpoint's, for all).

    `rescue_system` plays each rescued instance's rescue system (see rescue_systems.py; None: none, and the
    instances keep their documentation addresses, which the diagnosis refuses); `close()` stops them all.
    """

    def __init__(
        self,
        *,
        session_ttl: float = 3600.0,
        transition_seconds: float = 3.0,
        max_page_size: int | None = None,
        latency: float = 0.0,
        behaviour: Behaviour | None = None,
        rescue_system: RescueSystem | None = None,
    ) -> None:
        super().__init__(session_ttl=session_ttl, transition_seconds=transition_seconds, max_page_size=max_page_size)
        self.behaviour = behaviour or Behaviour()
        self.rescue_systems = RescueSystems(rescue_system) if rescue_system is not None else None
        self.latency = latency  # seconds added to every API request (benchmarks of round trips)
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0  # API requests being answered right now, and the most seen at once
        self.max_in_flight = 0
        self._faults: list[Fault] = []
        self._long_answers: dict[str, _LongAnswer] = {}
        self._stopping = threading.Event()
        self._arrived = threading.Condition(self._lock)  # notified at every recorded request
        methods = ["GET", "POST"]
        self.app = Starlette(
            routes=[
                Route("/", self._handle_api, methods=methods),
                Route("/billmgr", self._handle_api, methods=methods),
                Route(LONG_PATH, self._handle_long, methods=methods),
            ]
        )

    def close(self) -> None:
        """Stop every rescue system running for a rescued instance (nothing is left running); the API still answers."""
        if self.rescue_systems is not None:
            self.rescue_systems.close()

    def reset(self) -> None:
        """Restore the default account state and forget requests, sessions, faults and added accounts (and stop the
        rescue systems of the instances it forgets)."""
        self.close()
        with self._lock:
            self.reset_account()
            self.requests = []
            self.max_in_flight = 0
            self._faults = []
            self._long_answers = {}

    def inject(self, fault: Fault) -> None:
        """Queue a fault for the next matching request(s)."""
        with self._lock:
            self._faults.append(fault)

    def mutating_requests(self) -> list[RecordedRequest]:
        """The requests that asked for a change to a server (a form submit, or a call that needs no `sok` to act:
        unrescue, reboot, start, stop; logins are not)."""
        with self._lock:
            return [r for r in self.requests if r.mutating]

    def wait_for_request(self, match: Callable[[RecordedRequest], bool], timeout: float = 10.0) -> RecordedRequest:
        """Block until a request matching `match` has arrived (tests order events on this, never on a sleep)."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: any(match(r) for r in self.requests), timeout):
                raise TimeoutError("no matching request arrived")
            return next(r for r in self.requests if match(r))

    def calls(self, func: str) -> list[RecordedRequest]:
        """The requests made to one function."""
        with self._lock:
            return [r for r in self.requests if r.func == func]

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
            mutating=func not in LOGIN_FUNCTIONS and ("sok" in fields or func in EXECUTED_WITHOUT_SOK),
        )
        with self._arrived:
            self.requests.append(recorded)
            self._arrived.notify_all()
        return recorded

    def _take_fault(self, recorded: RecordedRequest) -> Fault | None:
        func = recorded.func
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.mutating is not None and fault.mutating != recorded.mutating:
                    continue
                if fault.func == func or (fault.func is None and func not in ("auth", "whoami", "keepalive")):
                    if fault.times <= 1:
                        del self._faults[index]
                    else:
                        self._faults[index] = replace(fault, times=fault.times - 1)
                    return fault
        return None

    async def _handle_api(self, request: Request) -> Response:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    async def _answer(self, request: Request) -> Response:
        recorded = await self._record(request)
        if self.latency:
            await anyio.sleep(self.latency)
        fault = self._take_fault(recorded)
        if fault is not None and fault.kind == "session_expired":
            # The session dies just before this request arrives: refused, not executed.
            with self._lock:
                self._sessions.pop(recorded.fields.get("auth", ""), None)
            return JSONResponse(self.unauthorised(recorded.func).doc)
        if fault is not None and fault.kind == "http_status":
            return Response(_edge_error_page(fault.status), status_code=fault.status, media_type="text/html")
        if fault is not None and fault.kind == "delay":
            await self._hang(request, fault.seconds)
        if fault is not None and fault.kind == "body":
            return Response(fault.body, media_type="application/json")
        answer = self.execute(recorded.fields)
        if fault is None or fault.kind == "delay":
            return JSONResponse(answer)
        if fault.kind == "padded":
            answer["doc"]["padding"] = {"$": "x" * fault.size}
            return JSONResponse(answer)
        if fault.kind == "deep":
            text = '{"doc": {"ok": {}, "deep": ' + "[" * fault.size + "]" * fault.size + "}}"
            return Response(text, media_type="application/json")
        if fault.kind == "invalid_json":
            return Response('{"doc": {"ok": ', media_type="application/json")
        if fault.kind == "lost_answer":
            await self._hang(request, fault.seconds)
            return JSONResponse(answer)
        if fault.kind == "long_expired":
            # The operation runs, but the wait page's session dies before the final answer is fetched.
            answer = self.unauthorised(recorded.func).doc
        return self._long_page(request, answer)

    def _long_page(self, request: Request, answer: JSON) -> Response:
        """BILLmanager answers a page whose link must be fetched (repeatedly) for the final JSON."""
        token = secrets.token_hex(12)
        link = f"long?elid={token}&func=billmgr"
        if self.behaviour.long_links == "absolute":
            host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
            link = f"{request.url.scheme}://{host}/{link}"
        html = f'<html><body>Operation in progress. <a href="{link}">wait</a></body></html>'
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
                return JSONResponse(ApiRefusal("missed", "elid", f"Operation {token} not found").doc)
            if pending.pending_pages > 0:
                pending.pending_pages -= 1
                return Response(pending.html, media_type="text/html")
            return JSONResponse(pending.answer)


def run_on_loopback(sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve ``sim.app`` with uvicorn in a daemon thread; return its base URL and a function that stops it (and its
    rescue systems)."""
    from ..mcp_server.loopback import serve_on_loopback

    sim._stopping.clear()
    url, stop_serving = serve_on_loopback(sim.app, host=host, port=port, on_stop=sim._stopping.set)

    def stop() -> None:
        stop_serving()
        sim.close()

    return url, stop
