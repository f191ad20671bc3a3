"""Log lines name the account they are about: a context variable set while an account's work runs, and a filter
that adds it to every record the server's handler writes (`[account prod]`), however deep the line was logged.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["FORMAT", "AccountFilter", "for_account"]

FORMAT = "%(asctime)s %(levelname)s %(name)s:%(account_tag)s %(message)s"

_ACCOUNT: contextvars.ContextVar[str | None] = contextvars.ContextVar("zomro_account", default=None)


@contextmanager
def for_account(name: str) -> Iterator[None]:
    """Within the block (and the tasks it starts), log lines name `name`."""
    token = _ACCOUNT.set(name)
    try:
        yield
    finally:
        _ACCOUNT.reset(token)


class AccountFilter(logging.Filter):
    """Adds `account_tag` (" [account NAME]", or "" outside an account's work) for FORMAT."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = _ACCOUNT.get()
        record.account_tag = f" [account {name}]" if name is not None else ""
        return True
