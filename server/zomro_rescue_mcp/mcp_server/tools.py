"""The tools: their descriptions and annotations, written for a language model, over plain operations.

Annotations here are evaluated when the tools are defined (no `from __future__ import annotations`): the approval
parameters name resolvers that exist only once `register_changes` runs.
"""

from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult
from pydantic import Field

from ..operations.diagnosis import DiagnoseResult
from ..operations.fleet import Fleet
from ..operations.health import InstanceCheck
from ..operations.models import EnterRescueResult, ExitRescueResult, InstanceList, RescueImageList
from ..operations.pipeline import EnterRequest, ExitRequest
from ..settings.accounts import Accounts
from .annotations import change, read
from .arguments import ACCOUNT_SPELLING, AccountArg, Confirm, InstanceId, PreviewId, Wait, ZoneArg
from .elicitation import ElicitationAsker
from .iso_tools import register_iso_changes, register_iso_reads
from .power_tools import register_power
from .prompts import rescue_workflow
from .repair_tools import register_repairs
from .results import answer, delivery_check, fleet_of
from .snapshot_tools import register_snapshot_change, register_snapshot_read

__all__ = ["register_changes", "register_reads"]

INSTANCES_DESCRIPTION = """\
Instances: id, name, IP, state, billing, OS (read-only). query: id, name or IP. Paged: offset=next_offset. \
complete=false: a filter saved in the Zomro panel hides some."""

LIST_DESCRIPTION = """\
The rescue images offered to an instance now, and its state (read-only)."""

ENTER_DESCRIPTION = """\
Reboot an instance into rescue mode from an image (id, label or name from list_rescue_images), its disk attached; \
down until exit_rescue. confirm=false previews. password: 8-48 chars, upper, lower, digit, none of \
" # % & ' ( ) * ; < > ? @ | or spaces; else one is generated, shown once. A wait that ends first is no failure: \
never resend."""

DIAGNOSE_DESCRIPTION = """\
Why an instance in rescue mode fails to boot or to let anyone in: its disk read from the rescue system over SSH \
(writes nothing). Findings name their fix. rescue_password: only if this server did not enter rescue mode."""

CHECK_DESCRIPTION = """\
Does an instance answer now: its state, and a TCP connection to each ZOMRO_HEALTH_PORTS port (SSH banner read). \
Read-only; for after exit_rescue."""

EXIT_DESCRIPTION = """\
Take an instance out of rescue mode: it reboots from its own disk. confirm=false previews."""


def register_reads(mcp: MCPServer[Fleet], accounts: Accounts, *, named: bool) -> None:
    """The tools that only read, and the prompt."""

    @mcp.tool(
        name="list_instances",
        description=INSTANCES_DESCRIPTION,
        annotations=read("List instances"),
    )
    async def list_instances(
        ctx: Context[Fleet, Any],
        query: Annotated[str | None, Field(max_length=200)] = None,
        limit: Annotated[int, Field(ge=1, le=500)] = 50,
        offset: Annotated[int, Field(ge=0)] = 0,
        account: Annotated[
            str | None, Field(max_length=40, description="Only this account's; omit: every account."), ACCOUNT_SPELLING
        ] = None,
    ) -> Annotated[CallToolResult, InstanceList]:
        return await answer(
            fleet_of(ctx).list_instances(query, limit=limit, offset=offset, account=account), named=named
        )

    @mcp.tool(
        name="list_rescue_images",
        description=LIST_DESCRIPTION,
        annotations=read("List rescue images"),
    )
    async def list_rescue_images(
        instance_id: InstanceId, ctx: Context[Fleet, Any], zone: ZoneArg = None, account: AccountArg = None
    ) -> Annotated[CallToolResult, RescueImageList]:
        return await answer(fleet_of(ctx).list_images(instance_id, zone, account), named=named)

    @mcp.tool(
        name="diagnose_instance",
        description=DIAGNOSE_DESCRIPTION,
        annotations=read("Diagnose from rescue mode"),
    )
    async def diagnose_instance(
        instance_id: InstanceId,
        ctx: Context[Fleet, Any],
        account: AccountArg = None,
        rescue_password: Annotated[str | None, Field(max_length=200)] = None,
    ) -> Annotated[CallToolResult, DiagnoseResult]:
        work = fleet_of(ctx).diagnose(
            instance_id, account, rescue_password=rescue_password, on_progress=ctx.report_progress
        )
        return await answer(work, named=named)

    @mcp.tool(
        name="check_instance",
        description=CHECK_DESCRIPTION,
        annotations=read("Check an instance answers"),
    )
    async def check_instance(
        instance_id: InstanceId, ctx: Context[Fleet, Any], account: AccountArg = None
    ) -> Annotated[CallToolResult, InstanceCheck]:
        return await answer(fleet_of(ctx).check(instance_id, account), named=named)

    @mcp.prompt(
        name="rescue_workflow",
        title="Rescue a server that does not boot",
        description="Walks through finding the instance, choosing an image, the person's approval, entering "
        "rescue mode, the diagnosis of its disk (diagnose_instance), the repair and leaving rescue mode.",
    )
    def rescue_workflow_prompt(
        instance: Annotated[
            str, Field(max_length=200, description="The server as the person names it: a name, IP or id.")
        ],
    ) -> str:
        return rescue_workflow(instance, read_only=not accounts.can_change, several=accounts.several)

    register_iso_reads(mcp, named=named)
    register_snapshot_read(mcp, named=named)


def register_changes(mcp: MCPServer[Fleet], *, named: bool) -> None:
    """The tools that change an instance; absent from tools/list when every account is read-only."""
    asker = ElicitationAsker()
    approve_enter = asker.enter_resolver()
    approve_exit = asker.exit_resolver()

    @mcp.tool(
        name="enter_rescue",
        description=ENTER_DESCRIPTION,
        annotations=change("Enter rescue mode"),
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
        return await answer(
            fleet_of(ctx).run(
                EnterRequest(instance_id, image, zone, password),
                account,
                confirm=confirm,
                preview_id=preview_id,
                wait=wait,
                on_progress=ctx.report_progress,
                approval=asker.outcome(approval, instance_id, ctx),
                delivered=delivery_check(ctx),
            ),
            named=named,
        )

    @mcp.tool(
        name="exit_rescue",
        description=EXIT_DESCRIPTION,
        annotations=change("Exit rescue mode", idempotent=True),
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
        return await answer(
            fleet_of(ctx).run(
                ExitRequest(instance_id),
                account,
                confirm=confirm,
                preview_id=preview_id,
                wait=wait,
                on_progress=ctx.report_progress,
                approval=asker.outcome(approval, instance_id, ctx),
                delivered=delivery_check(ctx),
            ),
            named=named,
        )

    register_repairs(mcp, asker, named=named)
    register_power(mcp, asker, named=named)
    register_iso_changes(mcp, asker, named=named)
    register_snapshot_change(mcp, asker, named=named)
