"""Assembly in one place: accounts → API clients → audit trail → rescue services → the fleet, for every adapter.

The MCP server (stdio and HTTP) and the human CLI (and so the demo, which runs the server as a process) build
their services here. `assemble` opens the audit trail at once, so a bad ZOMRO_AUDIT_LOG stops a server at its
start; each `Assembly.open()` then lends one API client per account, all closed when the block ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx2

from ..settings.accounts import Accounts
from ..settings.config import Settings
from ..wire.billmanager import BillmanagerClient
from .audit import AuditTrail
from .fleet import Fleet
from .previews import PreviewLedger
from .rescue import RescueService
from .rescue_logins import RescueLogins

__all__ = ["Assembly", "assemble"]

Transport = httpx2.AsyncBaseTransport | None
_RAILS = ("read_only", "allowed_instances", "require_approval")  # rails whose sentences say where they are set


class Assembly:
    """What lives as long as the server (or the command): the accounts, the audit trail, the preview ledger."""

    def __init__(self, accounts: Accounts, audit: AuditTrail, previews: PreviewLedger | None, transport: Transport):
        self.accounts = accounts
        self.settings = accounts.shared
        self.audit = audit
        self.previews = previews
        self.logins = RescueLogins(self.settings.rescue.session_ttl)  # the server's, for every account
        self._transport = transport

    @asynccontextmanager
    async def open(self) -> AsyncIterator[Fleet]:
        """The accounts' services, each over a fresh API client of its own (one login per account and client)."""
        async with AsyncExitStack() as stack:
            services: dict[str, RescueService] = {}
            for settings in self.accounts.settings:
                api = BillmanagerClient(settings, transport=self._transport)
                stack.push_async_callback(api.aclose)
                name = settings.api.account
                services[name] = RescueService.from_settings(
                    api,
                    settings,
                    self.audit,
                    self.previews,
                    named=self.accounts.several,
                    where={rail: self.accounts.where(name, rail) for rail in _RAILS},
                    logins=self.logins,
                )
            yield Fleet(self.accounts, services, self.audit, self.logins)


def assemble(
    accounts: Accounts | Settings, *, transport: Transport = None, previews: PreviewLedger | None = None
) -> Assembly:
    """Open the audit trail now (an unwritable path raises ConfigError here) and keep one preview ledger.

    The ledger belongs to the server, so a preview in one session (or protocol era) counts in another.
    """
    if isinstance(accounts, Settings):
        accounts = Accounts.single(accounts)
    rails = accounts.shared.guard_rails
    audit = AuditTrail(rails.audit_log)
    if previews is None and rails.require_preview:
        previews = PreviewLedger(rails.preview_ttl)
    return Assembly(accounts, audit, previews if rails.require_preview else None, transport)
