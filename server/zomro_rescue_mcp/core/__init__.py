"""What every layer shares: the errors (a kind and facts each), the outcome kinds, secret masking, printable text,
the log context and task helpers. Imports nothing of the package.
"""

from .errors import (
    ApiError,
    AuthError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    PolicyRefusedError,
    StateConflictError,
    TransportError,
    TwoFactorError,
    ZomroError,
)
from .lazy import exporter
from .logcontext import FORMAT, AccountFilter, for_account
from .outcomes import FACTS_META, KIND_META, Step
from .printable import printable
from .tasks import concurrently

__all__ = [
    "FACTS_META",
    "FORMAT",
    "KIND_META",
    "AccountFilter",
    "ApiError",
    "AuthError",
    "ConfigError",
    "InvalidRequestError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "PolicyRefusedError",
    "StateConflictError",
    "Step",
    "TransportError",
    "TwoFactorError",
    "ZomroError",
    "concurrently",
    "exporter",
    "for_account",
    "printable",
]
