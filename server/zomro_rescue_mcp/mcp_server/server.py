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
from ..settings.toolsets import CHANGE_TOOLS, TOOLSETS, tools_of
from .arguments import compact
from .elicitation import APPROVAL_TTL
from .instructions import INSTRUCTIONS, instructions
from .results import argument_sentence, failure
from .tool_cache import build_tool
from .tools import register_changes, register_reads

__all__ = ["INSTRUCTIONS", "RescueMCPServer", "build_server"]


class RescueMCPServer(MCPServer[Fleet]):
    """MCPServer whose argument errors read as a sentence and never echo the rejected values."""

    read_only = False
    read_only_where = "ZOMRO_READ_ONLY"

    def __init__(self, *args: Any, accounts: Accounts | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offered: set[str] = set()  # the tools registered here (the SDK's registry is private)
        self.accounts = accounts
        # The union of the accounts' toolsets: a tool outside it is never registered (None: every tool).
        self.toolsets = (
            None
            if accounts is None
            else frozenset().union(*(tools_of(s.guard_rails.toolsets) for s in accounts.settings))
        )

    def add_tool(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        name = kwargs.get("name") or fn.__name__
        if self.toolsets is not None and name not in self.toolsets:
            return
        registry = getattr(self._tool_manager, "_tools", None)
        if args or not isinstance(registry, dict) or name in registry:
            super().add_tool(fn, *args, **kwargs)  # the SDK's own way (a changed SDK, or an unusual call)
        else:
            registry[name] = build_tool(fn, **kwargs)
        self.offered.add(name)

    async def list_tools(self) -> list[Tool]:
        """The tools with their input schemas said as shortly as they can be (see `_compact`)."""
        return [t.model_copy(update={"input_schema": compact(t.input_schema)}) for t in await super().list_tools()]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Fleet, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        if name not in self.offered:
            if self.read_only and name in CHANGE_TOOLS:
                return failure(
                    f"{name} is not offered: this server runs in read-only mode ({self.read_only_where}), and "
                    "nothing was sent. Ask the operator, or use the Zomro panel.",
                    "refused.read_only",
                )
            if any(name in tools for tools in TOOLSETS.values()):
                return failure(
                    f"{name} is not offered: its toolset is not in ZOMRO_TOOLSETS (or the accounts' toolsets), and "
                    "nothing was sent. Ask the operator to add it.",
                    "refused.toolset",
                )
            return failure(
                f"There is no tool {name!r} on this server; tools/list shows the ones it offers.", "invalid.tool"
            )
        refusal = self._outside_toolsets(name, arguments)
        if refusal is not None:
            return refusal
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError) and not isinstance(exc, UnexpectedToolError):
                return failure(argument_sentence(name, exc.__cause__), "invalid.arguments")
            raise

    def _outside_toolsets(self, name: str, arguments: dict[str, Any]) -> CallToolResult | None:
        """The refusal of a call on an account whose toolsets lack the tool (the server offers the union)."""
        if self.accounts is None or not self.accounts.several:
            return None
        chosen = arguments.get("account")
        account = chosen if isinstance(chosen, str) else self.accounts.default
        settings = self.accounts.get(account) if account is not None else None
        if settings is None or name in tools_of(settings.guard_rails.toolsets):
            return None  # no such account, or none named: the tool's own rule answers
        sets = ", ".join(sorted(settings.guard_rails.toolsets)) or "none"
        where = self.accounts.where(settings.api.account, "toolsets")
        return failure(
            f"{name} is not offered for account {account}: its toolsets ({sets}, {where}) do not include it, and "
            "nothing was sent. Use another account, or ask the operator.",
            "refused.toolset",
            {"account": account},
            named=True,
        )


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
        accounts=accounts,
    )
    mcp.read_only = not accounts.can_change
    if accounts.source is not None and "read_only" not in accounts.floors:
        mcp.read_only_where = f"every account in {accounts.source} is read_only"

    register_reads(mcp, accounts, named=named)
    if accounts.can_change:
        register_changes(mcp, named=named)
    return mcp
