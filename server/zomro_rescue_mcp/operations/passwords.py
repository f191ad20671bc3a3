"""The rescue password policy (as Zomro's panel enforces it) and a generator that always meets it."""

from __future__ import annotations

import secrets
import string

from ..core.errors import InvalidRequestError

__all__ = ["FORBIDDEN", "check_password", "generate_password"]

MIN_LENGTH, MAX_LENGTH = 8, 48
FORBIDDEN = frozenset("\"#%&'()*;<>?@|")
_SAFE_SYMBOLS = "-_.+=!~^:,"  # no shell or URL meaning, so the password is easy to paste anywhere


def check_password(password: str, *, what: str = "rescue password", otherwise: str = " (public images)") -> None:
    """Raise `InvalidRequestError` naming every rule the password breaks; the password itself is never echoed.

    `what` names the password in the sentence; `otherwise` ends it, after "leave the password out to have a strong
    one generated"."""
    problems: list[str] = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(f"be {MIN_LENGTH} to {MAX_LENGTH} characters long (it has {len(password)})")
    if not any(c.isupper() and c.isascii() for c in password):
        problems.append("contain an upper-case letter")
    if not any(c.islower() and c.isascii() for c in password):
        problems.append("contain a lower-case letter")
    if not any(c in string.digits for c in password):
        problems.append("contain a digit")
    if any(not (c.isascii() and c.isprintable()) or c.isspace() for c in password):
        problems.append("use printable ASCII characters only, without spaces")
    if any(c in FORBIDDEN for c in password):
        problems.append("avoid the characters " + " ".join(sorted(FORBIDDEN)))
    if problems:
        raise InvalidRequestError(
            f"The {what} was refused before anything was sent: it must "
            + "; ".join(problems)
            + f". Choose another, or leave the password out to have a strong one generated{otherwise}.",
            kind="invalid.password",
        )


def generate_password(length: int = 20) -> str:
    """A random password meeting the policy: every character class present, drawn with `secrets`."""
    alphabet = string.ascii_letters + string.digits + _SAFE_SYMBOLS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if (
            any(c.isupper() for c in candidate)
            and any(c.islower() for c in candidate)
            and any(c.isdigit() for c in candidate)
        ):
            return candidate
