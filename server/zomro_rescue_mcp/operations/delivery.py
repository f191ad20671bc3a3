"""After a change: whether the caller was still there to receive its result (an HTTP client may hang up), and
progress messages that name the account when several are configured."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from .audit import Attempt
from .models import ActionResult, EnterRescueResult
from .watch import ProgressFn

__all__ = ["DeliveryCheck", "check_delivery", "naming"]

log = logging.getLogger("zomro_rescue_mcp.rescue")
DeliveryCheck = Callable[[], Awaitable[bool]]


def naming(account: str, on_progress: ProgressFn) -> ProgressFn:
    """Progress messages that name the account (when several are configured)."""

    async def named(progress: float, total: float | None, message: str) -> None:
        await on_progress(progress, total, f"account {account}: {message}")

    return named


async def check_delivery(attempt: Attempt, result: ActionResult, delivered: DeliveryCheck | None) -> None:
    """An executed request whose caller hung up: say so in the log and the audit trail (never the password)."""
    if not result.executed or delivered is None or await delivered():
        return
    lost = getattr(result, "password", None) is not None
    attempt.undelivered = "executed; password not delivered" if lost else "executed; result not delivered"
    log.warning(
        "the client hung up before the result of request %s (instance %d of account %s) could be delivered%s [req=%s]",
        attempt.request_id,
        result.instance_id,
        result.account,
        (
            ": its generated rescue password was not delivered, so leave rescue mode and enter it again for a new one"
            if isinstance(result, EnterRescueResult)
            else ": the root password it set was not delivered, so set another one (account.set_root_password)"
        )
        if lost
        else "",
        attempt.request_id,
    )
