"""The MCP adapter: registers the rescue tools and turns domain errors into sentences for the model.

Annotations here are evaluated when the tools are defined (no `from __future__ import annotations`): the
approval parameters name resolvers that exist only inside `build_server`.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx2
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.server.request_state import RequestStateSecurity
from mcp.types import CallToolResult, InputRequiredResult, TextContent, Tool, ToolAnnotations
from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from .. import __version__
from ..core import redact
from ..core.errors import ZomroError
from ..core.outcomes import FACTS_META, KIND_META
from ..operations.assembly import assemble
from ..operations.fleet import Fleet
from ..operations.models import ActionResult, EnterRescueResult, ExitRescueResult, InstanceList, RescueImageList, Zone
from ..operations.pipeline import EnterRequest, ExitRequest
from ..settings.accounts import Accounts
from ..settings.config import Settings, parse_instance_id
from .elicitation import APPROVAL_TTL, ElicitationAsker
from .prompts import rescue_workflow
from .render import error_for_model, facts_for_model, render_for_model

__all__ = ["INSTRUCTIONS", "build_server"]

log = logging.getLogger("zomro_rescue_mcp.server")

INSTRUCTIONS = """\
Zomro Cloud VPS rescue mode: the instance reboots from a rescue image with its own disk attached, for repair. \
Workflow: list_instances -> list_rescue_images -> enter_rescue with confirm=false (the preview; it returns a \
preview_id) -> show it to the person and get their yes -> the same call with confirm=true and that preview_id \
(the latest preview's; used once) -> hand over the login -> later exit_rescue the same way. A generated password \
is shown once: give it to the person. If a result says the outcome is unknown, do not retry: ask the person to \
check the instance."""


def _ascii_id(value: Any) -> Any:
    """A text id is ASCII digits only: '١٢', '²', '+5' or '1_000' are not instance ids."""
    if isinstance(value, str) and parse_instance_id(value) is None:
        raise ValueError("an instance id is a number written in ASCII digits, such as 5203773")
    return value


InstanceId = Annotated[int, Field(ge=1, description="Instance id, e.g. 5203773."), BeforeValidator(_ascii_id)]
ZoneArg = Annotated[Zone | None, Field(description="pub, own (the account's) or shr (shared).")]
Confirm = Annotated[
    bool,
    Field(strict=True, description="false: preview only. true: execute, only after the person's yes."),
]  # strict: only a JSON true executes, never "true", 1 or "yes"
Wait = Annotated[bool, Field(strict=True, description="Watch until it settles, with progress (default).")]
PreviewId = Annotated[
    str | None,
    Field(
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="With confirm=true: the preview_id the person approved.",
    ),
]
ACCOUNT_NAME = r"^[A-Za-z0-9_.-]{1,40}$"  # as the accounts file spells them: no spaces, line breaks or look-alikes
AccountArg = Annotated[
    str | None,
    Field(pattern=ACCOUNT_NAME, description="Account (as listed); omit for the default. A confirmed change names it."),
]

INSTANCES_DESCRIPTION = """\
List instances: id, name, IP, state, billing, OS (read-only). query matches id, name or IP. Paged: pass \
next_offset as offset. complete=false: a filter saved in the Zomro panel hides some."""

LIST_DESCRIPTION = """\
The rescue images offered for an instance now, and its state (read-only). Call before enter_rescue."""

ENTER_DESCRIPTION = """\
Put an instance into rescue mode: it reboots from the image (id, OS label or name from list_rescue_images) with \
its disk attached; its services are down until exit_rescue. confirm=false previews. password (optional): \
8-48 chars, upper, lower, digit, none of " # % & ' ( ) * ; < > ? @ | or spaces; a public image without one gets \
a generated one, shown once. A wait that ends first is not a failure: never resend."""

EXIT_DESCRIPTION = """\
Take an instance out of rescue mode: it reboots from its own disk. confirm=false previews."""


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
        return [t.model_copy(update={"input_schema": _compact(t.input_schema)}) for t in await super().list_tools()]

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Fleet, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        if name not in self.offered:
            if self.read_only and name in ("enter_rescue", "exit_rescue"):
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
                return failure(_argument_sentence(name, exc.__cause__), "invalid.arguments")
            raise


def _argument_sentence(tool: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        problems.append(f"{where}: {item['msg']}")
    return (
        f"{tool} was not run because its arguments are invalid ({'; '.join(problems)}). Nothing was sent to "
        "Zomro; correct the arguments and call it again."
    )


def failure(sentence: str, kind: str, facts: dict[str, Any] | None = None, *, named: bool = False) -> CallToolResult:
    """An error result: the sentence for the model, and the outcome's kind and facts in `_meta`."""
    meta: dict[str, Any] = {KIND_META: kind}
    if facts:
        meta[FACTS_META] = facts_for_model(facts)  # `next` as the tool to call
    text = error_for_model(sentence, facts or {}, named=named)
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True, _meta=meta)


def _kind_of(result: BaseModel) -> str:
    if isinstance(result, ActionResult):
        return result.kind
    return "instances" if isinstance(result, InstanceList) else "images"


async def _answer(work: Awaitable[BaseModel], *, named: bool) -> CallToolResult:
    """Run an operation: its outcome as structured content, the model's words as text, and its kind in `_meta`;
    a domain error is an error result with its sentence, kind and facts (secrets masked). `named`: several
    accounts are configured, so the words name them too.
    """
    try:
        result = await work
        meta: dict[str, Any] = {KIND_META: _kind_of(result)}
        if isinstance(result, ActionResult) and result.preview_refusal is not None:
            meta[FACTS_META] = {"instance_id": result.instance_id, "reason": result.preview_refusal}
        return CallToolResult(
            content=[TextContent(type="text", text=render_for_model(result, named=named))],
            structured_content=result.model_dump(mode="json"),
            _meta=meta,
        )
    except ZomroError as exc:
        return failure(redact.scrub(str(exc)), exc.kind, exc.facts, named=named)
    except Exception as exc:
        log.exception("unexpected error in a tool")
        return failure(
            f"An unexpected error stopped this call ({type(exc).__name__}); the server's log has the details. If it "
            "was a confirmed request, its outcome is unknown: check the instance's state (list_instances) before "
            "trying again.",
            "internal",
        )


def _delivery_check(ctx: Context[Fleet, Any]) -> Callable[[], Awaitable[bool]] | None:
    """Over HTTP, whether the client is still connected to receive the result; None on other transports."""
    is_disconnected = getattr(ctx.request_context.request, "is_disconnected", None)
    if is_disconnected is None:
        return None

    async def delivered() -> bool:
        return not await is_disconnected()

    return delivered


def _fleet(ctx: Context[Fleet, Any]) -> Fleet:
    return ctx.request_context.lifespan_context


def _annotations(title: str, *, read_only: bool, idempotent: bool) -> ToolAnnotations:
    return ToolAnnotations(
        title=title,
        read_only_hint=read_only,
        destructive_hint=not read_only,
        idempotent_hint=idempotent,
        open_world_hint=True,
    )


def instructions(accounts: Accounts | Settings) -> str:
    """The workflow, plus the guard rails the operator set, so the model knows them before it tries."""
    if isinstance(accounts, Settings):
        accounts = Accounts.single(accounts)
    if accounts.several:
        return "\n".join([INSTRUCTIONS, _accounts_note(accounts)])
    rails = accounts.shared.guard_rails
    notes = []
    if rails.read_only:
        notes.append(
            "This server is READ-ONLY: it can list instances and rescue images, but entering and leaving "
            "rescue mode is disabled (the tools are not offered). Send the person to the Zomro panel."
        )
    if rails.allowed_instances is not None:
        ids = ", ".join(str(i) for i in sorted(rails.allowed_instances))
        notes.append(f"Only these instances may be touched: {ids}; other ids are refused.")
    if rails.require_approval == "always" and not rails.read_only:
        notes.append(
            "Every confirmed request also asks the person, through the client, to type the instance id to approve it."
        )
    return "\n".join([INSTRUCTIONS, *notes])


def _accounts_note(accounts: Accounts) -> str:
    """Several accounts: their names and guard rails, and the rule that a confirmed change names its account."""
    lines = []
    for settings in accounts.settings:
        rails = settings.guard_rails
        marks = [
            *(["default"] if settings.api.account == accounts.default else []),
            *(["read-only"] if rails.read_only else []),
            *(
                [f"only instances {', '.join(str(i) for i in sorted(rails.allowed_instances))}"]
                if rails.allowed_instances is not None
                else []
            ),
            *(
                ["the person approves each change"]
                if rails.require_approval == "always" and not rails.read_only
                else []
            ),
        ]
        lines.append(f"- {settings.api.account}" + (f" ({'; '.join(marks)})" if marks else ""))
    default = (
        f"Reads without `account` use {accounts.default}"
        if accounts.default is not None
        else "Reads other than list_instances must name their `account`"
    )
    return (
        "Accounts (instance ids may repeat across accounts, so always carry the account with the id):\n"
        + "\n".join(lines)
        + f"\n{default}; list_instances without `account` lists every account. A confirmed enter_rescue or "
        "exit_rescue must name its `account`."
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
    )
    mcp.read_only = not accounts.can_change
    if accounts.source is not None and "read_only" not in accounts.floors:
        mcp.read_only_where = f"every account in {accounts.source} is read_only"

    @mcp.tool(
        name="list_instances",
        description=INSTANCES_DESCRIPTION,
        annotations=_annotations("List instances", read_only=True, idempotent=True),
    )
    async def list_instances(
        ctx: Context[Fleet, Any],
        query: Annotated[str | None, Field(max_length=200)] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
        offset: Annotated[int, Field(ge=0)] = 0,
        account: Annotated[
            str | None, Field(pattern=ACCOUNT_NAME, description="Only this account's; omit for every account.")
        ] = None,
    ) -> Annotated[CallToolResult, InstanceList]:
        return await _answer(
            _fleet(ctx).list_instances(query, limit=limit, offset=offset, account=account), named=named
        )

    @mcp.tool(
        name="list_rescue_images",
        description=LIST_DESCRIPTION,
        annotations=_annotations("List rescue images", read_only=True, idempotent=True),
    )
    async def list_rescue_images(
        instance_id: InstanceId, ctx: Context[Fleet, Any], zone: ZoneArg = None, account: AccountArg = None
    ) -> Annotated[CallToolResult, RescueImageList]:
        return await _answer(_fleet(ctx).list_images(instance_id, zone, account), named=named)

    @mcp.prompt(
        name="rescue_workflow",
        title="Rescue a server that does not boot",
        description="Walks through finding the instance, choosing an image, the person's approval, entering "
        "rescue mode, the repair (mount, fsck, logs, /etc/fstab) and leaving rescue mode.",
    )
    def rescue_workflow_prompt(
        instance: Annotated[
            str, Field(max_length=200, description="The server as the person names it: a name, IP or id.")
        ],
    ) -> str:
        return rescue_workflow(instance, read_only=not accounts.can_change, several=accounts.several)

    if accounts.can_change:
        _register_changes(mcp, named=named)
    return mcp


def _compact(schema: Any) -> Any:
    """An input schema as short as it can be said: the model reads tools/list in every conversation.

    Pydantic's generated titles go, and an optional argument (`X | None = None`) is advertised as `X`, not as
    `anyOf: [X, null]` with a null default: leaving it out means the same. Only the advertised schema changes;
    arguments are still validated by the pydantic model behind it (an explicit null is still accepted).
    """
    if isinstance(schema, dict):
        options = schema.get("anyOf")
        if (
            isinstance(options, list)
            and len(options) == 2
            and {"type": "null"} in options
            and "default" in schema
            and schema["default"] is None
        ):
            kept = next(o for o in options if o != {"type": "null"})
            rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
            return _compact({**kept, **rest})
        return {k: _compact(v) for k, v in schema.items() if k != "title"}
    if isinstance(schema, list):
        return [_compact(v) for v in schema]
    return schema


def _register_changes(mcp: RescueMCPServer, *, named: bool) -> None:
    """The two tools that change an instance; absent from tools/list when every account is read-only."""
    asker = ElicitationAsker()
    approve_enter = asker.enter_resolver()
    approve_exit = asker.exit_resolver()

    @mcp.tool(
        name="enter_rescue",
        description=ENTER_DESCRIPTION,
        annotations=_annotations("Enter rescue mode", read_only=False, idempotent=False),
    )
    async def enter_rescue(
        instance_id: InstanceId,
        image: Annotated[
            str,
            Field(
                min_length=1,
                max_length=200,
                description="Image id, OS label or name.",
            ),
        ],
        ctx: Context[Fleet, Any],
        approval: Annotated[ElicitationResult[Any], Resolve(approve_enter)],
        zone: ZoneArg = None,
        password: Annotated[str | None, Field(max_length=200)] = None,
        confirm: Confirm = False,
        preview_id: PreviewId = None,
        wait: Wait = True,
        account: AccountArg = None,
    ) -> Annotated[CallToolResult, EnterRescueResult]:
        return await _answer(
            _fleet(ctx).run(
                EnterRequest(instance_id, image, zone, password),
                account,
                confirm=confirm,
                preview_id=preview_id,
                wait=wait,
                on_progress=ctx.report_progress,
                approval=asker.outcome(approval, instance_id, ctx),
                delivered=_delivery_check(ctx),
            ),
            named=named,
        )

    @mcp.tool(
        name="exit_rescue",
        description=EXIT_DESCRIPTION,
        annotations=_annotations("Exit rescue mode", read_only=False, idempotent=True),
    )
    async def exit_rescue(
        instance_id: InstanceId,
        ctx: Context[Fleet, Any],
        approval: Annotated[ElicitationResult[Any], Resolve(approve_exit)],
        confirm: Confirm = False,
        preview_id: PreviewId = None,
        wait: Wait = True,
        account: AccountArg = None,
    ) -> Annotated[CallToolResult, ExitRescueResult]:
        return await _answer(
            _fleet(ctx).run(
                ExitRequest(instance_id),
                account,
                confirm=confirm,
                preview_id=preview_id,
                wait=wait,
                on_progress=ctx.report_progress,
                approval=asker.outcome(approval, instance_id, ctx),
                delivered=_delivery_check(ctx),
            ),
            named=named,
        )
