"""Logging in as Zomro's panel does: `auth`, then `whoami`, then the two-factor step when the account asks for it.

The refusals a login can meet each get their own sentence (what happened, what to do). The two-factor code is
computed from ZOMRO_TOTP_SECRET with pyotp at the moment it is sent; neither the secret nor the code is logged.

A refused code is tried once more, with the next 30-second step's code: a one-time code counts once, so a code
another login already used (another server or command with the same secret, a restart within the step) is
refused, and the panel's refusal does not say why (Zomro's panel shows every refusal of the code alike). A
second refusal is final until the server is restarted, so a wrong secret costs two codes, never more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from ..core import redact
from ..core.errors import AuthError, TransportError, TwoFactorError
from .answers import Doc, error_of, message_of, readable, text_of

__all__ = ["CodeSource", "Exchange", "TotpCodes", "clock", "log_in", "pause", "refusal"]

Exchange = Callable[[str, dict[str, str], "str | None"], Awaitable[Doc]]
"""Send one read (function, fields, session) and return its `doc`, errors included."""

log = logging.getLogger("zomro_rescue_mcp.api")

Name = Callable[[str], str]
"""How a person sets a setting of the account, for sentences (`ApiSettings.name_of`)."""


def _same(variable: str) -> str:
    return variable


def token_advice(name: Name = _same) -> str:
    """The way around a login a server cannot make: a session id from the panel."""
    return (
        f"log in to the Zomro panel yourself and set {name('ZOMRO_AUTH_TOKEN')} to the session id instead (it expires "
        "an hour after its last use)"
    )


_REFUSALS = {
    "badpassword": "wrong username or password: check {username} and {password}",
    "badip": "logins from this IP address are not allowed for the account: allow it in the account's access "
    "settings in the panel",
    "blocklogon": "logins are blocked for a short while after failed attempts: wait a minute, then restart the server",
    "blockgeoip": "a login from a new region was blocked: follow the unlock instructions Zomro sent to the "
    "account's e-mail address, then restart the server",
    "blocked_ip": "this IP address is blocked after too many failed attempts: contact Zomro support to unblock it",
}


def _names_captcha(error: dict[str, Any]) -> bool:
    said = " ".join(str(part) for part in (error.get("$type"), error.get("$object"), message_of(error)))
    return "captcha" in said.lower()


def refusal(username: str, error: dict[str, Any], name: Name = _same) -> AuthError:
    """The sentence for a refused login, by the refusal's `$object` (a captcha by any part that names one)."""
    if _names_captcha(error):
        reason = f"Zomro asks for a reCAPTCHA answer, which a server cannot give: {token_advice(name)}"
    elif (known := _REFUSALS.get(str(error.get("$object")))) is not None:
        reason = known.format(username=name("ZOMRO_USERNAME"), password=name("ZOMRO_PASSWORD"))
    else:
        reason = redact.scrub(readable(error))
    return AuthError(
        f"Zomro refused the login for {username}: {reason}. The server will not try again until it is restarted, so "
        "the account is not locked out."
    )


def _session_of(doc: Doc) -> str | None:
    auth = doc.get("auth")
    session = (auth.get("$id") or auth.get("$")) if isinstance(auth, dict) else None
    return session if isinstance(session, str) and session else None


CodeSource = Callable[[], Awaitable[str]]
"""The current two-factor code, never the one sent last (see `TotpCodes`)."""


async def log_in(exchange: Exchange, username: str, password: str, code: CodeSource | None, name: Name = _same) -> str:
    """A confirmed session id for the account, or the refusal as an `AuthError` (never retried by the caller).
    `name` says how the person sets a setting of this account, for the sentences."""
    doc = await exchange("auth", {"username": username, "password": password}, None)
    error = error_of(doc)
    if error is not None:
        raise refusal(username, error, name)
    session = _session_of(doc)
    if session is None:
        raise TransportError("Zomro answered the login without a session id; try again later.")
    redact.register(session)
    if not await _asks_for_code(exchange, session):
        return session
    if code is None:
        raise TwoFactorError(
            f"The account {username} uses two-factor authentication: set {name('ZOMRO_TOTP_SECRET')} to the secret "
            f"shown when two-factor was set up (the base32 text under the QR code), so the server can confirm its "
            f"logins; or {token_advice(name)}."
        )
    confirmed = await _confirm(exchange, session, await code())
    error = error_of(confirmed)
    retried = error is not None and error.get("$type") not in _SESSION_REFUSALS
    if retried:
        log.info("the two-factor code was refused (it may have been used already); once more with the next code")
        confirmed = await _confirm(exchange, session, await code())  # the next step's: never the same code twice
        error = error_of(confirmed)
    new_session = _session_of(confirmed)
    if error is not None or new_session is None:
        reason = redact.scrub(message_of(error)) if error is not None else "no session came back"
        again = ", and the next 30-second step's code too" if retried else ""
        raise TwoFactorError(
            f"Zomro refused the two-factor code for {username}{again} ({reason}): check "
            f"{name('ZOMRO_TOTP_SECRET')} and that this machine's clock is right. The server will not try again "
            "until it is restarted."
        )
    redact.register(new_session)
    log.info("two-factor login confirmed")
    return new_session


_SESSION_REFUSALS = frozenset({"auth", "access"})  # the login's session is gone: another code would not help


async def _confirm(exchange: Exchange, session: str, code: str) -> Doc:
    """Send one code with the panel's confirmation form."""
    return await exchange("totp.confirm", {"sok": "ok", "clicked_button": "ok", "qrcode": code}, session)


async def _asks_for_code(exchange: Exchange, session: str) -> bool:
    """Whether `whoami` says the session waits for a two-factor code; a `whoami` that fails cannot tell, so no."""
    try:
        whoami = await exchange("whoami", {}, session)
    except TransportError as exc:
        log.info("whoami after the login failed (%s); going on with the session", exc)
        return False
    if error_of(whoami) is not None:
        return False  # an account without whoami in its API: nothing says a code is needed
    return text_of(whoami.get("ok")) == "func=totp.confirm"


def clock() -> float:
    """The time two-factor codes are computed for (a seam for tests, with `pause`)."""
    return time.time()


async def pause(seconds: float) -> None:
    """Wait for the next step's code (a seam for tests: a fake `clock` moves on when it is called)."""
    await anyio.sleep(seconds)


class TotpCodes:
    """Codes from ZOMRO_TOTP_SECRET (RFC 6238, 30-s steps, via pyotp): a code is used once, so a login in the same
    step as the previous one waits for the next step (a one-time code may be refused when presented twice).
    """

    def __init__(self, secret: str) -> None:
        import pyotp

        class _Totp(pyotp.TOTP):
            min_secret_length_bits = 80  # 16 base32 characters, the length many sites show

        self._totp = _Totp(secret)
        self._last_step: int | None = None

    async def __call__(self) -> str:
        now = clock()
        step = int(now // self._totp.interval)
        if step == self._last_step:
            await pause((step + 1) * self._totp.interval - now + 0.01)
            now = clock()
            step = int(now // self._totp.interval)
        self._last_step = step
        return str(self._totp.at(int(now)))
