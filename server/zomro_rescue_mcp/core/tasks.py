"""Running reads side by side, with the first failure raised as itself rather than inside an exception group."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .errors import ZomroError

__all__ = ["concurrently", "first_error"]


async def concurrently(*calls: Callable[[], Awaitable[None]], limit: int | None = None) -> None:
    """Run the calls side by side (at most `limit` at a time); the first failure is raised unwrapped."""
    limiter = anyio.CapacityLimiter(limit) if limit is not None else None

    async def run(call: Callable[[], Awaitable[None]]) -> None:
        if limiter is None:
            await call()
            return
        async with limiter:
            await call()

    try:
        async with anyio.create_task_group() as group:
            for call in calls:
                group.start_soon(run, call)
    except BaseExceptionGroup as group_error:
        raise first_error(group_error) from None


def first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    """The error a caller should see: a domain error if there is one, else the first."""
    flat: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        item = pending.pop(0)
        if isinstance(item, BaseExceptionGroup):
            pending[:0] = list(item.exceptions)
        else:
            flat.append(item)
    return next((exc for exc in flat if isinstance(exc, ZomroError)), flat[0])
