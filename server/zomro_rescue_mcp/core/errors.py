"""Every failure a user of zomro-rescue-mcp can meet, as a small hierarchy.

Each message is a sentence that says what happened and what to do next; callers show it as is.

    ZomroError
     ├── ConfigError            configuration missing or contradictory (found at start)
     ├── InvalidRequestError    refused before any API call: bad password, unknown or ambiguous image …
     ├── StateConflictError     refused by a pre-flight read: the instance's state does not allow it now
     ├── PolicyRefusedError     refused by the operator's guard rails: read-only, allowlist, approval, audit
     ├── AuthError              the API refused the login or the session
     │    └── TwoFactorError    the two-factor step failed (no ZOMRO_TOTP_SECRET, or a refused code)
     ├── ApiError               the API answered with an error (`doc.error`); nothing was executed
     │    ├── NotFoundError     the function or the object (instance) does not exist
     │    └── PermissionDeniedError  the account may not use the function (a live session, refused)
     ├── TransportError         no usable answer; for a read, nothing changed
     └── OutcomeUnknownError    a mutating request may have been executed; it is never re-sent
"""

from __future__ import annotations

from typing import Any

from .outcomes import exit_code

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigError",
    "InvalidRequestError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "PolicyRefusedError",
    "StateConflictError",
    "TransportError",
    "TwoFactorError",
    "ZomroError",
]


class ZomroError(Exception):
    """Base of every error this package raises on purpose; its text is safe to show to a user.

    `kind` is its stable outcome kind (see outcomes.py) and `facts` what it is about (instance, status, the API's
    type and object …), so callers decide on data, not on the sentence.
    """

    kind: str = "internal"

    def __init__(self, message: str, *, kind: str | None = None, **facts: Any) -> None:
        super().__init__(message)
        self.message = message
        if kind is not None:
            self.kind = kind
        self.facts: dict[str, Any] = {k: v for k, v in facts.items() if v is not None}

    @property
    def exit_code(self) -> int:
        """The CLI's exit status for this error."""
        return exit_code(self.kind)

    def __str__(self) -> str:
        return self.message


class ConfigError(ZomroError):
    """The configuration cannot work; nothing was started."""

    kind = "config"


class InvalidRequestError(ZomroError):
    """The request was refused before anything was sent to the API."""

    kind = "invalid.arguments"


class StateConflictError(ZomroError):
    """The instance's current state does not allow the action (already in rescue, busy, not in rescue)."""

    kind = "refused.state"

    def __init__(self, message: str, *, status: str, kind: str | None = None, **facts: Any) -> None:
        super().__init__(message, kind=kind, status=status or None, **facts)
        self.status = status


class PolicyRefusedError(ZomroError):
    """A guard rail the operator set (read-only, allowlist, human approval, audit trail) refused the request."""

    kind = "refused.approval"


class AuthError(ZomroError):
    """The API refused the credentials or the session."""

    kind = "api.auth"


class TwoFactorError(AuthError):
    """The two-factor step failed: no ZOMRO_TOTP_SECRET, or a refused code."""


class ApiError(ZomroError):
    """The API answered with `doc.error`: the request was understood and refused, not executed."""

    kind = "api.error"

    def __init__(self, message: str, *, err_type: str, err_object: str, api_message: str, **facts: Any) -> None:
        super().__init__(message, err_type=err_type or None, err_object=err_object or None, **facts)
        self.err_type = err_type
        self.err_object = err_object
        self.api_message = api_message


class NotFoundError(ApiError):
    """The API does not know the function or the object (`$type` "missed")."""

    kind = "api.not_found"


class PermissionDeniedError(ApiError):
    """The API refused a function to a live session (`$type` "access" while `keepalive` succeeds): not executed."""

    kind = "api.denied"


class TransportError(ZomroError):
    """No usable answer came back (connection, timeout, HTTP status, not JSON)."""

    kind = "transport"

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable  # whether repeating a read could help


class OutcomeUnknownError(ZomroError):
    """A mutating request may have reached the API but its answer was lost; it is not re-sent."""

    kind = "outcome_unknown"
