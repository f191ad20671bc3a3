"""Watching an instance settle after a confirmed request: reads only, progress that always moves forward.

The state is read from the instance's row in Zomro's list, as the panel does. A state that could not be read is
said as such, never replaced by the last one seen; when it cannot be read at all (the account's API lacks the
list, denies it, or a saved list filter hides the instance), the watch ends at once as "unwatchable". An
instance that was already in `error` before the request only counts as failed again after it has been seen in
another state (the first reads may still show the old state).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from ..core.errors import ApiError, AuthError, ZomroError
from ..wire.billmanager import BillmanagerClient
from .instances import find_instance
from .models import WaitOutcome

__all__ = ["ProgressFn", "Watched", "watch"]

ProgressFn = Callable[[float, float | None, str], Awaitable[None]]
"""Called while watching: (seconds elapsed, seconds the watch may last, "state after N s")."""

log = logging.getLogger("zomro_rescue_mcp.watch")


@dataclass
class Watched:
    """What the watch saw: the last state read, how it ended, how long it took, and what to tell the person."""

    status: str | None = None
    address: str | None = None  # the instance's address in the last row read
    outcome: WaitOutcome = "not_waited"
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


async def watch(
    api: BillmanagerClient,
    instance_id: int,
    *,
    target: str,
    before: str | None,
    wait_seconds: float,
    poll_interval: float,
    on_progress: ProgressFn | None,
) -> Watched:
    """Poll the instance's list row until it reaches `target` or `error`, or `wait_seconds` pass."""
    seen = Watched(outcome="timed_out")
    started = time.monotonic()
    last_progress = -1.0
    moved = before != "error"  # leaving the error state must be seen before error counts as the outcome
    unreadable: str | None = "no read finished before the wait ended"
    with anyio.move_on_after(wait_seconds):
        while True:
            try:
                found, why = await find_instance(api, instance_id)
            except AuthError as exc:
                seen.notes.append(f"Watching stopped: {exc}")
                break
            except ApiError as exc:  # the list is missing or denied: reading again will not change that
                seen.outcome = "unwatchable"
                seen.notes.append(f"The server could not watch the instance settle: {exc}")
                break
            except ZomroError as exc:
                seen.status, unreadable = None, str(exc)
                log.info("reading the state of instance %d failed while watching: %s", instance_id, exc)
            else:
                if found is None:
                    seen.outcome = "unwatchable"
                    seen.notes += [f"The server could not watch the instance settle. {' '.join(why)}"]
                    break
                seen.status = found.status
                seen.address = (found.ip or found.ipv6 or "").strip() or None
                unreadable = None if seen.status else "the list row had no state"
            elapsed = time.monotonic() - started
            moved = moved or (seen.status is not None and seen.status != before)
            if on_progress is not None:
                last_progress = max(elapsed, last_progress + 0.001)  # strictly increasing, as MCP requires
                shown = seen.status or "state unreadable"
                await on_progress(last_progress, wait_seconds, f"{shown} after {elapsed:.0f} s")
            if seen.status == target or (seen.status == "error" and moved):
                seen.outcome = "reached" if seen.status == target else "error_state"
                break
            await anyio.sleep(poll_interval)
    if unreadable is not None and seen.outcome == "timed_out":
        seen.notes.append(f"The instance's state could not be read at the end of the watch ({unreadable}).")
    seen.seconds = round(time.monotonic() - started, 1)
    return seen
