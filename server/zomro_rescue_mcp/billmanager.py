"""The BILLmanager wire: form-encoded POSTs, sessions, `{"doc": …}` parsing, errors as exceptions.

Knows nothing of rescue or MCP. Two entry points make the safety rule explicit:
`read()` may retry a transient failure; `mutate()` sends once and turns a lost answer into
`OutcomeUnknownError`. Both log in again once when the API refuses the session, which is safe for a
mutation too: a refused session proves the request was not executed.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2

from . import __version__, redact
from .config import Settings
from .errors import (
    ApiError,
    AuthError,
    NotFoundError,
    OutcomeUnknownError,
    TransportError,
    TwoFactorError,
    ZomroError,
)

__all__ = ["BillmanagerClient", "Doc", "as_list", "text_of"]

Doc = dict[str, Any]
log = logging.getLogger("zomro_rescue_mcp.api")

_SESSION_REFUSALS = ("access", "auth")
_LONG_URL = re.compile(r"""https?://[^"'\s<>]*long[^"'\s<>]*billmgr[^"'\s<>]*""")
_LOGIN_REFUSALS = {
    "badpassword": "wrong username or password: check ZOMRO_USERNAME and ZOMRO_PASSWORD",
    "badip": "logins from this IP address are not allowed: allow it in the account's access settings",
    "blocklogon": "logins are blocked for this account after failed attempts: wait, or unblock it in the panel",
    "blockgeoip": "logins from this country are blocked for this account: change the account's GeoIP settings",
}


def as_list(value: Any) -> list[Any]:
    """Read a BILLmanager list: a repeated element is an array, a single one a bare object, none is absent."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def text_of(value: Any) -> str | None:
    """The text of a field (`{"$": "text"}` or a bare string); None when absent."""
    if isinstance(value, dict):
        inner = value.get("$")
        return inner if isinstance(inner, str) else None
    return value if isinstance(value, str) else None


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
        self._url = settings.api_url
        self._host = urlsplit(settings.api_url).netloc
        self._http = httpx2.AsyncClient(
            transport=transport,
            timeout=settings.timeout,
            follow_redirects=False,
            headers={"User-Agent": f"zomro-rescue-mcp/{__version__}", "Accept": "application/json"},
        )
        self._session: str | None = settings.auth_token
        self._login_lock = anyio.Lock()
        self._login_refused: AuthError | None = None  # a refused login is not tried again (account lock-out)
        self._read_attempts = max(1, read_attempts)
        self._retry_delay = retry_delay
        self._long_attempts = long_poll_attempts
        self._long_interval = long_poll_interval
        self._long_total = max(60.0, 2 * settings.timeout)

    @property
    def _can_login(self) -> bool:
        return self._settings.username is not None and self._settings.password is not None

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def read(self, func: str, **fields: str) -> Doc:
        """Call a function that changes nothing (a list, a form preview); transient failures are retried."""
        return await self._call(func, fields, mutating=False)

    async def mutate(self, func: str, **fields: str) -> Doc:
        """Call a function that changes something; it is sent at most once unless the session was refused."""
        return await self._call(func, fields, mutating=True)

    async def _call(self, func: str, fields: dict[str, str], *, mutating: bool) -> Doc:
        session = await self._ensure_session()
        doc = await self._exchange(func, fields, session, mutating=mutating)
        error = doc.get("error")
        if isinstance(error, dict) and error.get("$type") in _SESSION_REFUSALS:
            if not self._can_login:
                raise AuthError(
                    "Zomro refused the session token (it expires an hour after its last use, or is invalid); "
                    f"{func} was not executed. Set a fresh ZOMRO_AUTH_TOKEN, or set ZOMRO_USERNAME and "
                    "ZOMRO_PASSWORD so the server can log in again by itself."
                )
            log.info("session refused on %s; logging in again once", func)
            session = await self._login(stale=session)
            doc = await self._exchange(func, fields, session, mutating=mutating)
            error = doc.get("error")
        if isinstance(error, dict):
            raise _api_error(func, error)
        return doc

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
            username, password = self._settings.username, self._settings.password
            if username is None or password is None:
                raise AuthError("No ZOMRO_USERNAME and ZOMRO_PASSWORD are configured, so the server cannot log in.")
            doc = await self._exchange("auth", {"username": username, "password": password}, None, mutating=False)
            error = doc.get("error")
            if isinstance(error, dict):
                reason = _LOGIN_REFUSALS.get(str(error.get("$object")), redact.scrub(_message(error)))
                self._login_refused = AuthError(
                    f"Zomro refused the login for {username}: {reason}. The server will not try again until it is "
                    "restarted, so the account is not locked out."
                )
                raise self._login_refused
            auth = doc.get("auth")
            session = (auth.get("$id") or auth.get("$")) if isinstance(auth, dict) else None
            if not isinstance(session, str) or not session:
                raise TransportError("Zomro answered the login without a session id; try again later.")
            redact.register(session)
            whoami = await self._exchange("whoami", {}, session, mutating=False)
            if text_of(whoami.get("ok")) == "func=totp.confirm":
                self._login_refused = TwoFactorError(
                    f"The account {username} uses two-factor authentication, which a server "
                    "cannot complete on its own. Log in yourself and set ZOMRO_AUTH_TOKEN to the session id "
                    "instead of ZOMRO_USERNAME and ZOMRO_PASSWORD."
                )
                raise self._login_refused
            self._session = session
            log.info("logged in to %s", self._host)
            return session

    async def _exchange(self, func: str, fields: dict[str, str], session: str | None, *, mutating: bool) -> Doc:
        """Send one request (retrying reads) and return its `doc`; errors inside the doc are not raised here."""
        form = {"func": func, "out": "json", "lang": self._settings.lang, **fields}
        if session is not None:
            form["auth"] = session
        attempts = 1 if mutating else self._read_attempts
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
        try:
            response = await self._http.post(self._url, data=form)
        except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as exc:
            raise TransportError(
                f"Could not connect to {self._host} ({_cause(exc)}); {func} was not sent. Check the network and "
                "ZOMRO_API_URL, then try again."
            ) from exc
        except httpx2.TimeoutException as exc:
            raise self._lost(func, f"no answer within {self._settings.timeout:g} s", mutating) from exc
        except httpx2.HTTPError as exc:
            raise self._lost(func, f"the connection failed: {_cause(exc)}", mutating) from exc
        return await self._parse(func, response, mutating=mutating)

    async def _parse(self, func: str, response: httpx2.Response, *, mutating: bool) -> Doc:
        if response.status_code != 200:
            raise self._status_error(func, response, mutating=mutating)
        try:
            body = response.json()
        except ValueError:
            long_url = self._long_url(response.text)
            if long_url is not None:
                return await self._wait_long(func, long_url, mutating=mutating)
            raise self._lost(func, "the answer was not JSON", mutating) from None
        doc = body.get("doc") if isinstance(body, dict) else None
        if not isinstance(doc, dict):
            raise self._lost(func, "the answer had no `doc` object", mutating)
        return doc

    def _status_error(self, func: str, response: httpx2.Response, *, mutating: bool) -> ZomroError:
        """Non-200 answers come from the edge; only a 5xx may hide a request that reached BILLmanager."""
        status = response.status_code
        what = f"HTTP {status} {response.reason_phrase}".strip()
        if status >= 500:
            return self._lost(func, f"the API's gateway answered {what}", mutating)
        if status == 429:
            return TransportError(
                f"Zomro is limiting requests ({what}); {func} was not executed. Wait a minute, then try again.",
                retryable=False,  # hammering a rate limit only extends it
            )
        if status == 403:
            advice = (
                "this IP address may be blocked: check the account's access settings in the panel, or ask Zomro support"
            )
        elif 300 <= status < 400:
            advice = "it redirects elsewhere: check ZOMRO_API_URL (normally https://api.zomro.com/)"
        else:
            advice = "check ZOMRO_API_URL (normally https://api.zomro.com/)"
        return TransportError(
            f"Zomro's edge answered {func} with {what}, so it was not executed: {advice}.", retryable=False
        )

    def _long_url(self, body: str) -> str | None:
        """A long operation answers with a page linking a `long…` URL on the API's own host."""
        match = _LONG_URL.search(body)
        if match is None or urlsplit(match.group(0)).netloc != self._host:
            return None
        return match.group(0).replace("&amp;", "&")

    async def _wait_long(self, func: str, url: str, *, mutating: bool) -> Doc:
        # Bounded in total too: a mutation's wait runs shielded from cancellation.
        with anyio.move_on_after(self._long_total):
            return await self._poll_long(func, url, mutating=mutating)
        raise self._lost(func, f"the long operation did not finish within {self._long_total:g} s", mutating)

    async def _poll_long(self, func: str, url: str, *, mutating: bool) -> Doc:
        for attempt in range(self._long_attempts):
            try:
                response = await self._http.get(url)
            except httpx2.HTTPError as exc:
                raise self._lost(func, f"waiting for the long operation failed: {_cause(exc)}", mutating) from exc
            if response.status_code == 200:
                try:
                    body = response.json()
                except ValueError:  # still the "in progress" page: wait a little longer each time
                    await anyio.sleep(min(self._long_interval, 0.2 * 2**attempt))
                    continue
                doc = body.get("doc") if isinstance(body, dict) else None
                if isinstance(doc, dict):
                    if mutating and isinstance(doc.get("error"), dict):
                        # The request was executing; an error about the wait itself says nothing about it.
                        reason = redact.scrub(_message(doc["error"]))
                        raise self._lost(func, f"waiting for the long operation ended in an error ({reason})", True)
                    return doc
            raise self._lost(
                func, f"waiting for the long operation gave no answer (HTTP {response.status_code})", mutating
            )
        raise self._lost(func, "the long operation did not finish in time", mutating)

    def _lost(self, func: str, what: str, mutating: bool) -> TransportError | OutcomeUnknownError:
        if mutating:
            return OutcomeUnknownError(
                f"The outcome of {func} is unknown: {what}. The request may have been executed, so it was not "
                "sent again. Check the instance's state (list_instances, or the Zomro panel) before trying again."
            )
        return TransportError(
            f"Zomro did not give a usable answer to {func}: {what}. Nothing was changed; try again in a moment."
        )


def _message(error: dict[str, Any]) -> str:
    return text_of(error.get("msg")) or text_of(error) or "no message"


def _api_error(func: str, error: dict[str, Any]) -> ApiError:
    err_type = str(error.get("$type", ""))
    err_object = str(error.get("$object", ""))
    message = redact.scrub(_message(error))
    if err_type == "missed":
        return NotFoundError(
            f"Zomro does not know {err_object or 'the object'} for {func}: {message}. Check the id; if the "
            "function itself is missing, check ZOMRO_API_URL.",
            err_type=err_type,
            err_object=err_object,
            api_message=message,
        )
    if err_type in _SESSION_REFUSALS:
        text = (
            f"Zomro refused {func} even after a fresh login: {message}. The account may lack the right "
            "to this function or instance; check it in the panel."
        )
    else:
        text = (
            f"Zomro refused {func}: {message} ({err_type}/{err_object}); it was not executed. Check the request "
            "(list_instances and list_rescue_images show what is possible), or ask Zomro support if it should work."
        )
    return ApiError(text, err_type=err_type, err_object=err_object, api_message=message)


def _cause(exc: Exception) -> str:
    detail = str(exc) or type(exc).__name__
    return redact.scrub(detail)
