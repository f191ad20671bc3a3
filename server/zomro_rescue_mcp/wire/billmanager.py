"""The BILLmanager wire: form-encoded POSTs, sessions, bounded `{"doc": …}` answers, errors raised (see failures.py).

Knows nothing of rescue or MCP. Two entry points make the safety rule explicit: `read()` may retry a transient
failure; `mutate()` sends once and turns a lost answer into `OutcomeUnknownError`. A refused session is renewed
once, which is safe for a mutation too: a refused session proves the request was not executed. An `access`
refusal is first checked with `keepalive` on the same session, as the panel does: a live session means the
account may not use the function, and no login follows.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

from .. import __version__
from ..core import redact
from ..core.errors import AuthError, TransportError
from ..settings.config import Settings
from .answers import (
    MAX_ANSWER_BYTES,
    MAX_DEPTH,
    Doc,
    as_list,
    depth_exceeds,
    error_of,
    long_url,
    message_of,
    text_of,
)
from .failures import api_error, cause, denied, lost, refused_after_login, status_error
from .login import TotpCodes, log_in

__all__ = ["BillmanagerClient", "Doc", "as_list", "text_of"]

log = logging.getLogger("zomro_rescue_mcp.api")

_SESSION_REFUSALS = ("access", "auth")
_MUTATION_ANSWER_BYTES = 8 * MAX_ANSWER_BYTES  # an accepted change is read further before it is called unknown
_DENIAL_MEMORY = 300.0  # seconds a denial proven by a fresh login is remembered


class BillmanagerClient:
    """One connection pool and one session per process; see the module docstring for the retry rules."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        read_attempts: int = 3,
        retry_delay: float = 0.25,
        long_poll_attempts: int = 30,
        long_poll_interval: float = 2.0,
    ) -> None:
        self._settings = settings
        self._url = settings.api.api_url
        self._host = urlsplit(settings.api.api_url).netloc
        self._http = httpx2.AsyncClient(
            transport=transport,
            timeout=settings.api.timeout,
            follow_redirects=False,
            headers={"User-Agent": f"zomro-rescue-mcp/{__version__}", "Accept": "application/json"},
        )
        self._session: str | None = settings.api.auth_token
        self._login_lock = anyio.Lock()
        self._codes = TotpCodes(settings.api.totp_secret) if settings.api.totp_secret else None
        self._login_refused: AuthError | None = None  # a refused login is not tried again (account lock-out)
        # function -> (session, period) it was refused to after a fresh login: the next refusal in that period
        # is taken as a denial without another login (an account whose API has no keepalive cannot tell)
        self._denied: dict[str, tuple[str | None, int]] = {}
        self._read_attempts = max(1, read_attempts)
        self._retry_delay = retry_delay
        self._long_attempts = long_poll_attempts
        self._long_interval = long_poll_interval
        self._long_total = max(60.0, 2 * settings.api.timeout)

    @staticmethod
    def _denial_epoch() -> int:
        return int(time.monotonic() // _DENIAL_MEMORY)

    @property
    def _can_login(self) -> bool:
        return self._settings.api.username is not None and self._settings.api.password is not None

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def read(self, func: str, **fields: str) -> Doc:
        """Call a function that changes nothing (a list, a form preview); transient failures are retried."""
        return await self._call(func, fields, mutating=False)

    async def mutate(self, func: str, **fields: str) -> Doc:
        """Call a function that changes something; it is sent at most once unless the session was refused."""
        return await self._call(func, fields, mutating=True)

    async def read_doc(self, func: str, **fields: str) -> Doc:
        """A read whose `doc` is returned as it came, refusal included (a dead session is still renewed once).

        For `doctor --capture`, which records what the API answers rather than acting on it.
        """
        doc, _ = await self._answer(func, fields, mutating=False)
        return doc

    async def _call(self, func: str, fields: dict[str, str], *, mutating: bool) -> Doc:
        doc, renewed = await self._answer(func, fields, mutating=mutating)
        error = error_of(doc)
        if error is None:
            return doc
        if error.get("$type") in _SESSION_REFUSALS:
            raise refused_after_login(func, error) if renewed else denied(func, error)
        raise api_error(func, error)

    async def _answer(self, func: str, fields: dict[str, str], *, mutating: bool) -> tuple[Doc, bool]:
        """The doc of one call, and whether the session was renewed for it (a refusal checked with keepalive)."""
        session = await self._ensure_session()
        doc = await self._exchange(func, fields, session, mutating=mutating)
        error = error_of(doc)
        if error is None or error.get("$type") not in _SESSION_REFUSALS:
            return doc, False
        if error.get("$type") == "access" and self._denied.get(func) == (session, self._denial_epoch()):
            return doc, False  # known for a while: this session may not use the function, so no login for it
        if not await self._session_is_dead(error, session):
            return doc, False  # a live session was refused: a permission denial, and no login follows
        session = await self._renew(func, stale=session)
        doc = await self._exchange(func, fields, session, mutating=mutating)
        error = error_of(doc)
        if error is not None and error.get("$type") == "access":
            self._denied[func] = (session, self._denial_epoch())  # refused even to a fresh session
        return doc, True

    async def _session_is_dead(self, error: dict[str, Any], session: str | None) -> bool:
        """`auth` always means a dead session; for `access`, ask `keepalive` on the same session, as the panel does."""
        if error.get("$type") == "auth" or session is None:
            return True
        alive = await self._exchange("keepalive", {}, session, mutating=False)
        # Refused too: dead. Not offered at all: it cannot tell, so one fresh login decides.
        return error_of(alive) is not None

    async def _renew(self, func: str, *, stale: str | None) -> str:
        if not self._can_login:
            name = self._settings.api.name_of
            fresh = (
                "Set a fresh ZOMRO_AUTH_TOKEN"
                if self._settings.api.source is None
                else f"Put a fresh session id in {name('ZOMRO_AUTH_TOKEN')}"
            )
            raise AuthError(
                "Zomro refused the session token (it expires an hour after its last use, or is invalid); "
                f"{func} was not executed. {fresh}, or set {name('ZOMRO_USERNAME')} and "
                f"{name('ZOMRO_PASSWORD')} so the server can log in again by itself."
            )
        log.info("session refused on %s; logging in again once", func)
        return await self._login(stale=stale)

    async def _ensure_session(self) -> str | None:
        if self._session is None and self._can_login:
            return await self._login(stale=None)
        return self._session

    async def _login(self, *, stale: str | None) -> str:
        """Log in with the configured credentials, once even when several calls find the session stale."""
        async with self._login_lock:
            if self._session is not None and self._session != stale:
                return self._session  # another call already logged in
            if self._login_refused is not None:
                raise self._login_refused
            username, password = self._settings.api.username, self._settings.api.password
            if username is None or password is None:
                name = self._settings.api.name_of
                raise AuthError(
                    f"No {name('ZOMRO_USERNAME')} and {name('ZOMRO_PASSWORD')} are configured, so the server cannot "
                    "log in."
                )

            async def exchange(func: str, fields: dict[str, str], session: str | None) -> Doc:
                # A two-factor code is sent once: a retry could present a used code.
                return await self._exchange(func, fields, session, mutating=False, once=func == "totp.confirm")

            try:
                self._session = await log_in(exchange, username, password, self._codes, self._settings.api.name_of)
            except AuthError as exc:
                self._login_refused = exc
                raise
            log.info("logged in to %s", self._host)
            return self._session

    async def _exchange(
        self, func: str, fields: dict[str, str], session: str | None, *, mutating: bool, once: bool = False
    ) -> Doc:
        """Send one request (retrying reads unless `once`) and return its `doc`; errors in the doc are not raised."""
        form = {"func": func, "out": "json", "lang": self._settings.api.lang, **fields}
        if session is not None:
            form["auth"] = session
        attempts = 1 if mutating or once else self._read_attempts
        for attempt in range(1, attempts + 1):
            started = time.perf_counter()
            try:
                doc = await self._send_once(func, form, mutating=mutating)
            except TransportError as exc:
                if attempt == attempts or not exc.retryable:
                    raise
                log.info("%s failed (%s); retrying a read, attempt %d of %d", func, exc, attempt + 1, attempts)
                await anyio.sleep(self._retry_delay * attempt)
                continue
            log.debug("%s answered in %.0f ms", func, (time.perf_counter() - started) * 1000)
            return doc
        raise AssertionError("unreachable")

    async def _send_once(self, func: str, form: dict[str, str], *, mutating: bool) -> Doc:
        limit = _MUTATION_ANSWER_BYTES if mutating else MAX_ANSWER_BYTES
        try:
            async with self._http.stream("POST", self._url, data=form) as response:
                body = await _read_capped(response, limit)
        except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            raise TransportError(
                f"Could not connect to {self._host} ({cause(exc)}); {func} was not sent. Check the network and "
                f"{self._settings.api.name_of('ZOMRO_API_URL')}, then try again."
            ) from exc
        except httpx2.TimeoutException as exc:
            raise lost(func, f"no answer within {self._settings.api.timeout:g} s", mutating) from exc
        except httpx2.HTTPError as exc:
            raise lost(func, f"the connection failed: {cause(exc)}", mutating) from exc
        if response.status_code != 200:
            raise status_error(func, response, self._settings.api.name_of, mutating=mutating)
        if body is None:
            if mutating:
                raise lost(func, f"its answer was larger than {limit // 1024 // 1024} MiB", True)
            raise TransportError(
                f"Zomro's answer to {func} was larger than {limit // 1024 // 1024} MiB, so it was not read; nothing "
                "was changed. Narrow the request, or report it (zomro-rescue-mcp doctor --capture helps).",
                retryable=False,
            )
        return await self._parse(func, body, mutating=mutating)

    async def _parse(self, func: str, body: bytes, *, mutating: bool) -> Doc:
        try:
            parsed = json.loads(body)
        except RecursionError:
            raise lost(func, "the answer nested deeper than this server reads", mutating) from None
        except ValueError:
            link = long_url(body.decode("utf-8", errors="replace"), self._url)
            if link is not None:
                return await self._wait_long(func, link, mutating=mutating)
            raise lost(func, "the answer was not JSON", mutating) from None
        doc = parsed.get("doc") if isinstance(parsed, dict) else None
        if not isinstance(doc, dict):
            raise lost(func, "the answer had no `doc` object", mutating)
        if not mutating and depth_exceeds(doc):
            raise TransportError(
                f"Zomro's answer to {func} nested deeper than {MAX_DEPTH} levels, so it was not read; nothing was "
                "changed. Report it (zomro-rescue-mcp doctor --capture helps).",
                retryable=False,
            )
        return doc  # a mutation's answer is kept bounded where it is shown (messages.api_reply)

    async def _wait_long(self, func: str, url: str, *, mutating: bool) -> Doc:
        # Bounded in total too: a mutation's wait runs shielded from cancellation.
        with anyio.move_on_after(self._long_total):
            return await self._poll_long(func, url, mutating=mutating)
        raise lost(func, f"the long operation did not finish within {self._long_total:g} s", mutating)

    async def _poll_long(self, func: str, url: str, *, mutating: bool) -> Doc:
        for attempt in range(self._long_attempts):
            try:
                async with self._http.stream("GET", url) as response:
                    body = await _read_capped(response, _MUTATION_ANSWER_BYTES if mutating else MAX_ANSWER_BYTES)
            except httpx2.HTTPError as exc:
                raise lost(func, f"waiting for the long operation failed: {cause(exc)}", mutating) from exc
            if response.status_code == 200 and body is not None:
                try:
                    parsed = json.loads(body)
                except ValueError:  # still the "in progress" page: wait a little longer each time
                    await anyio.sleep(min(self._long_interval, 0.2 * 2**attempt))
                    continue
                except RecursionError:
                    raise lost(func, "the long operation's answer nested too deep to read", mutating) from None
                doc = parsed.get("doc") if isinstance(parsed, dict) else None
                if isinstance(doc, dict):
                    error = error_of(doc)
                    if mutating and error is not None:
                        # The request was executing; an error about the wait itself says nothing about it.
                        reason = redact.scrub(message_of(error))
                        raise lost(func, f"waiting for the long operation ended in an error ({reason})", True)
                    return doc
            raise lost(func, f"waiting for the long operation gave no answer (HTTP {response.status_code})", mutating)
        raise lost(func, "the long operation did not finish in time", mutating)


async def _read_capped(response: httpx2.Response, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes (the rest is not read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
