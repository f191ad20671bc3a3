"""The MCP server: its tools over the configured accounts, and argument errors turned into sentences."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.request_state import RequestStateSecurity
from mcp.types import CallToolResult, InputRequiredResult, Tool
from pydantic import ValidationError

from .. import __version__
from ..operations.assembly import assemble
from ..operations.fleet import Fleet
from ..settings.accounts import Accounts
from ..settings.config import Settings
from .arguments import compact
from .elicitation import APPROVAL_TTL
from .instructions import INSTRUCTIONS, instructions
from .repair_tools import REPAIR_TOOLS
from .results import argument_sentence, failure
from .tools import register_changes, register_reads

__all__ = ["INSTRUCTIONS", "RescueMCPServer", "build_server"]


class RescueMCPServer(MCPServer[Fleet]):
    """MCPServer whose argument errors read as a sentence and never echo the rejected values."""

    read_only = False
    read_only_where = "ZOMRO_READ_ONLY"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offered: set[str] = set()  # the tools registered here (the SDK's registry is private)

    def add_tool(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        super().add_tool(fn, *args, **kwargs)
        self.offered.add(kwargs.get("name") or fn.__name__)

    async def list_tools(self) -> list[Tool]:
        """The tools with their input schemas said as shortly as they can be (see `_compact`)."""
        return [t.model_copy(update={"input_schema": compact(t.input_schema)}) for t in await super().list_tools()]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Fleet, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        if name not in self.offered:
            if self.read_only and name in ("enter_rescue", "exit_rescue", *REPAIR_TOOLS):
                return failure(
                    f"{name} is not offered: this server runs in read-only mode ({self.read_only_where}), and "
                    "nothing was sent. Ask the operator, or use the Zomro panel.",
                    "refused.read_only",
                )
            return failure(
                f"There is no tool {name!r} on this server; tools/list shows the ones it offers.", "invalid.tool"
            )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError) and not isinstance(exc, UnexpectedToolError):
                return failure(argument_sentence(name, exc.__cause__), "invalid.arguments")
            raise


def build_server(
    configured: Accounts | Settings, *, transport: httpx2.AsyncBaseTransport | None = None
) -> RescueMCPServer:
    """The MCP server with the rescue tools over the configured accounts (or one account's settings); their API
    clients live as long as the server runs."""
    accounts = Accounts.single(configured) if isinstance(configured, Settings) else configured
    assembly = assemble(accounts, transport=transport)  # an unwritable audit trail stops the server here, at start
    named = accounts.several

    @asynccontextmanager
    async def lifespan(_: MCPServer[Fleet]) -> AsyncIterator[Fleet]:
        async with assembly.open() as fleet:
            yield fleet

    mcp = RescueMCPServer(
        "zomro-rescue-mcp",
        title="Zomro rescue mode",
        version=__version__,
        instructions=instructions(accounts),
        lifespan=lifespan,
        # A sealed approval answer lives briefly, and ApprovalLedger lets it count once.
        request_state_security=RequestStateSecurity.ephemeral(ttl=APPROVAL_TTL),
    )
    mcp.read_only = not accounts.can_change
    if accounts.source is not None and "read_only" not in accounts.floors:
        mcp.read_only_where = f"every account in {accounts.source} is read_only"

    register_reads(mcp, accounts, named=named)
    if accounts.can_change:
        register_changes(mcp, named=named)
    return mcp
