"""The operator's guard rails of one account, checked before anything is sent: read-only mode, the allowlist, and one
confirmed change per instance at a time (entering or leaving rescue mode, a repair, a command in the rescue system).

Each refusal names the setting that caused it (`where`: a variable, or a key of the accounts file).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from ..core.errors import PolicyRefusedError, StateConflictError

__all__ = ["ENVIRONMENT", "GuardRails"]

ENVIRONMENT = {
    "read_only": "ZOMRO_READ_ONLY",
    "allowed_instances": "ZOMRO_ALLOWED_INSTANCES",
    "require_approval": "ZOMRO_REQUIRE_APPROVAL",
}


class GuardRails:
    """One account's read-only mode, allowlist and per-instance lock; `named`: the sentences name the account."""

    def __init__(
        self,
        account: str,
        *,
        named: bool = False,
        read_only: bool = False,
        allowed_instances: frozenset[int] | None = None,
        where: Mapping[str, str] | None = None,
    ) -> None:
        self.account = account
        self.named = named
        self.read_only = read_only
        self.allowed = allowed_instances
        self.where = where or ENVIRONMENT
        self._in_flight: set[int] = set()

    def check_allowed(self, instance_id: int) -> None:
        """The operator's allowlist, checked before any API call or connection."""
        if self.allowed is not None and instance_id not in self.allowed:
            whose = f"account {self.account} may touch" if self.named else "this server may touch"
            raise PolicyRefusedError(
                f"Instance {instance_id} is not among the instances {whose} ({self.where['allowed_instances']}); "
                "nothing was sent.",
                kind="refused.allowlist",
                instance_id=instance_id,
                next="list_instances",
            )

    def check_writable(self) -> None:
        """Read-only mode refuses every change: entering or leaving rescue mode, repairs and commands."""
        if self.read_only:
            who = f"Account {self.account} is" if self.named else "This server runs"
            raise PolicyRefusedError(
                f"{who} in read-only mode ({self.where['read_only']}): entering or leaving rescue mode, repairs and "
                "commands in the rescue system are disabled, and nothing was sent. Ask the operator, or use the "
                "Zomro panel.",
                kind="refused.read_only",
            )

    @asynccontextmanager
    async def exclusive(self, instance_id: int) -> AsyncIterator[None]:
        """One confirmed change per instance at a time in this server, from its first read to its end."""
        if instance_id in self._in_flight:
            raise StateConflictError(
                f"Another confirmed request for instance {instance_id} is still running in this server: nothing was "
                "sent. Wait for its result, then look at the instance's state.",
                status="",
                kind="refused.busy",
                instance_id=instance_id,
            )
        self._in_flight.add(instance_id)
        try:
            yield
        finally:
            self._in_flight.discard(instance_id)
