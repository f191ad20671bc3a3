"""Several accounts on one simulated endpoint: what they share, and who may log in to which.

The simulator's own account (the demo user's, `Simulator` itself) is the *home*: it holds the session table, the
lock, `Behaviour`, the transition timings and the other settings of the endpoint. An account added with
`add_account` holds only its own data (instances, images, saved filter …) and reads and writes everything else
through the home, with the `Shared` descriptor, so a test that sets ``sim.transition_seconds`` after construction
changes it for every account, and a session created by any of them lands in the one table.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar, cast, overload

from .state import CAPTCHA_USERNAME, DEMO_PASSWORD, DEMO_USERNAME, TOTP_USERNAME

__all__ = ["SPECIAL_USERS", "Homed", "Shared"]

# The logins that see the home's data: the demo user, and the two-factor and captcha users of the login tests.
SPECIAL_USERS = {DEMO_USERNAME: DEMO_PASSWORD, TOTP_USERNAME: DEMO_PASSWORD, CAPTCHA_USERNAME: DEMO_PASSWORD}

T = TypeVar("T")


class Homed(Protocol):
    """An account that knows the home account it shares the endpoint's state with (itself, for the home)."""

    @property
    def _home(self) -> Any: ...


class Shared(Generic[T]):
    """An attribute that lives on the home account; reading or setting it on any account reaches the home's.

    Why a descriptor and not a copy: tests change the simulator's settings after accounts exist (transition
    timings, `behaviour`), and sessions and the lock must be one table and one lock for every login.
    """

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self._slot = f"_shared{name}" if name.startswith("_") else f"_shared_{name}"

    @overload
    def __get__(self, account: None, owner: type[Any]) -> Shared[T]: ...
    @overload
    def __get__(self, account: Homed, owner: type[Any] | None = None) -> T: ...
    def __get__(self, account: Homed | None, owner: type[Any] | None = None) -> T | Shared[T]:
        if account is None:  # read on the class: the descriptor itself, as Python's own descriptors do
            return self
        return cast(T, getattr(account._home, self._slot))

    def __set__(self, account: Homed, value: T) -> None:
        setattr(account._home, self._slot, value)
