"""Assembly in one place: settings → API client → audit trail → rescue service, for every adapter.

The MCP server (stdio and HTTP) and the human CLI (and so the demo, which runs the server as a process) build
their service here. `assemble` opens the audit trail at once, so a bad ZOMRO_AUDIT_LOG stops a server at its
start; each `Assembly.open()` then lends one API client, closed when the block ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx2

from .audit import AuditTrail
from .billmanager import BillmanagerClient
from .config import Settings
from .previews import PreviewLedger
from .rescue import RescueService

__all__ = ["Assembly", "assemble"]

Transport = httpx2.AsyncBaseTransport | None


class Assembly:
    """What lives as long as the server (or the command): the settings, the audit trail, the preview ledger."""

    def __init__(self, settings: Settings, audit: AuditTrail, previews: PreviewLedger | None, transport: Transport):
        self.settings = settings
        self.audit = audit
        self.previews = previews
        self._transport = transport

    @asynccontextmanager
    async def open(self) -> AsyncIterator[RescueService]:
        """A service over a fresh API client, closed when the block ends (one login per client)."""
        api = BillmanagerClient(self.settings, transport=self._transport)
        try:
            yield RescueService.from_settings(api, self.settings, self.audit, self.previews)
        finally:
            await api.aclose()


def assemble(settings: Settings, *, transport: Transport = None, previews: PreviewLedger | None = None) -> Assembly:
    """Open the audit trail now (an unwritable path raises ConfigError here) and keep one preview ledger.

    The ledger belongs to the server, so a preview in one session (or protocol era) counts in another.
    """
    audit = AuditTrail(settings.guard_rails.audit_log)
    if previews is None and settings.guard_rails.require_preview:
        previews = PreviewLedger(settings.guard_rails.preview_ttl)
    return Assembly(settings, audit, previews if settings.guard_rails.require_preview else None, transport)
