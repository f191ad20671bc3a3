"""What went wrong on the wire as the package's errors: an edge's HTTP status, a lost answer, a `doc.error`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2

from ..core import redact
from ..core.errors import (
    ApiError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    TransportError,
    ZomroError,
)
from ..settings.config import DEFAULT_API_URL as DEFAULT
from .answers import as_list, field_message, readable, text_of

__all__ = ["api_error", "cause", "denied", "lost", "refused_after_login", "status_error"]

_IP_BLOCKED = (403, 460)  # Zomro's edge: the client IP is (temporarily) blocked


def lost(func: str, what: str, mutating: bool) -> TransportError | OutcomeUnknownError:
    """A call whose answer was lost or unusable: for a change its outcome is unknown (it is never sent again)."""
    if mutating:
        return OutcomeUnknownError(
            f"The outcome of {func} is unknown: {what}. The request may have been executed, so it was not "
            "sent again. Check the instance's state (here, or in the Zomro panel) before trying again.",
            next="list_instances",
        )
    return TransportError(
        f"Zomro did not give a usable answer to {func}: {what}. Nothing was changed; try again in a moment."
    )


def status_error(func: str, response: httpx2.Response, name_of: Callable[[str], str], *, mutating: bool) -> ZomroError:
    """Non-200 answers come from the edge; a 5xx or a redirect may hide a request that reached BILLmanager."""
    status = response.status_code
    what = f"HTTP {status} {response.reason_phrase}".strip()
    if status >= 500:
        return lost(func, f"the API's gateway answered {what}", mutating)
    if 300 <= status < 400:
        if mutating:
            return lost(func, f"the API answered {what}, a redirect this server does not follow", True)
        advice = f"it redirects elsewhere: check {name_of('ZOMRO_API_URL')} (normally {DEFAULT})"
    elif status == 429:
        return TransportError(
            f"Zomro is limiting requests ({what}); {func} was not executed. Wait a minute, then try again.",
            retryable=False,  # hammering a rate limit only extends it
        )
    elif status in _IP_BLOCKED:
        advice = (
            "this IP address is blocked for now (often a VPN or a shared address): try from another network, "
            "check the account's access settings in the panel, or ask Zomro support"
        )
    else:
        advice = f"check {name_of('ZOMRO_API_URL')} (normally {DEFAULT})"
    return TransportError(
        f"Zomro's edge answered {func} with {what}, so it was not executed: {advice}.", retryable=False
    )


def _what_was_denied(error: dict[str, Any]) -> str:
    params = [text_of(p) for p in as_list(error.get("param")) if isinstance(p, dict)]
    named = ", ".join(p for p in params if p)
    return f" ({named})" if named else ""


def denied(func: str, error: dict[str, Any]) -> PermissionDeniedError:
    """A function refused to a live session: the account may not use it, and logging in again would not help."""
    message = redact.scrub(readable(error))
    return PermissionDeniedError(
        f"Zomro does not permit {func} for this account{_what_was_denied(error)}: {message}. It was not executed. "
        "The session is valid, so logging in again would not help: check the account's (or sub-user's) rights in "
        "the panel, or ask Zomro support.",
        err_type=str(error.get("$type", "")),
        err_object=str(error.get("$object", "")),
        api_message=message,
    )


def refused_after_login(func: str, error: dict[str, Any]) -> ApiError:
    """A function refused even to a fresh session."""
    message = redact.scrub(readable(error))
    return PermissionDeniedError(
        f"Zomro refused {func} even after a fresh login{_what_was_denied(error)}: {message}. It was not executed. "
        "The account may lack the right to this function or instance; check it in the panel.",
        err_type=str(error.get("$type", "")),
        err_object=str(error.get("$object", "")),
        api_message=message,
    )


def api_error(func: str, error: dict[str, Any]) -> ApiError:
    """Any other `doc.error`: an unknown object (`missed`), or the API's refusal of the request."""
    err_type = str(error.get("$type", ""))
    err_object = str(error.get("$object", ""))
    message = redact.scrub(readable(error))  # the cloud layer's {"field": ["message"]} reads "field: message"
    cloud = field_message(error)
    if cloud is not None:
        err_object = cloud[0]
    if err_type == "missed":
        return NotFoundError(
            f"Zomro does not know {err_object or 'the object'} for {func}: {message}. Check the id; if the "
            "function itself is missing, this account's API does not offer it.",
            err_type=err_type,
            err_object=err_object,
            api_message=message,
        )
    text = (
        f"Zomro refused {func}: {message} ({err_type or 'error'}/{err_object or '-'}); it was not executed. Check the "
        "request, or ask Zomro support if it should work."
    )
    return ApiError(text, err_type=err_type, err_object=err_object, api_message=message)


def cause(exc: Exception) -> str:
    """An httpx2 error's text, for a sentence, with anything secret in it masked."""
    detail = str(exc) or type(exc).__name__
    return redact.scrub(detail)
