"""The tools that change an instance's disk from its rescue system: a named fix, and one command line.

Both are changes like entering rescue mode: destructive, not idempotent, absent when every account is read-only,
previewed (confirm=false reads only and returns a preview_id), asked for approval through elicitation, run once.
"""

# No `from __future__ import annotations`: the approval parameters name resolvers that exist only at registration.

from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult
from pydantic import Field

from ..operations.fleet import Fleet
from ..operations.repair_results import CommandResult, RepairResult
from ..operations.repairing import CommandRequest, RepairRequest
from .annotations import change
from .arguments import AccountArg, Confirm, InstanceId, PreviewId
from .elicitation import ElicitationAsker
from .results import answer, delivery_check, fleet_of

__all__ = ["REPAIR_TOOLS", "register_repairs"]

REPAIR_TOOLS = ("repair_instance", "run_in_rescue")

REPAIR_DESCRIPTION = """\
Apply a diagnose_instance finding's fix (fix, target as it names them) in rescue mode. confirm=false previews the \
exact diff or commands. Files are backed up first (fix=file.restore_backup puts one back)."""

RUN_DESCRIPTION = """\
One command line in the rescue system, for what repair_instance lacks; chroot: in the instance's root. A change: \
confirm=false previews. Output ≤16 KiB."""

Disk = Annotated[str | None, Field(max_length=60, description="The root's disk, when several.")]


def register_repairs(mcp: MCPServer[Fleet], asker: ElicitationAsker, *, named: bool) -> None:
    """repair_instance and run_in_rescue; registered with the other changes (never in read-only mode)."""
    approve_repair = asker.repair_resolver()
    approve_command = asker.command_resolver()

    @mcp.tool(name="repair_instance", description=REPAIR_DESCRIPTION, annotations=change("Repair from rescue"))
    async def repair_instance(
        instance_id: InstanceId,
        fix: Annotated[str, Field(min_length=1, max_length=40)],
        ctx: Context[Fleet, Any],
        approval: Annotated[ElicitationResult[Any], Resolve(approve_repair)],
        target: Annotated[str | None, Field(max_length=16384)] = None,
        password: Annotated[str | None, Field(max_length=200, description="account.set_root_password's.")] = None,
        disk: Disk = None,
        confirm: Confirm = False,
        preview_id: PreviewId = None,
        account: AccountArg = None,
    ) -> Annotated[CallToolResult, RepairResult]:
        request = RepairRequest(instance_id, fix, target, password, None, disk)
        return await answer(
            fleet_of(ctx).repair(
                request,
                account,
                confirm=confirm,
                preview_id=preview_id,
                on_progress=ctx.report_progress,
                approval=asker.outcome(approval, instance_id, ctx),
                delivered=delivery_check(ctx),
            ),
            named=named,
        )

    @mcp.tool(name="run_in_rescue", description=RUN_DESCRIPTION, annotations=change("Run in rescue system"))
    async def run_in_rescue(
        instance_id: InstanceId,
        command: Annotated[str, Field(min_length=1, max_length=2000)],
        ctx: Context[Fleet, Any],
        approval: Annotated[ElicitationResult[Any], Resolve(approve_command)],
        chroot: Annotated[bool, Field(strict=True)] = True,
        timeout_s: Annotated[int, Field(ge=1, le=300, strict=True)] = 60,  # strict: never true or "60"
        disk: Disk = None,
        confirm: Confirm = False,
        preview_id: PreviewId = None,
        account: AccountArg = None,
    ) -> Annotated[CallToolResult, CommandResult]:
        request = CommandRequest(instance_id, command, chroot, timeout_s, None, disk)
        return await answer(
            fleet_of(ctx).run_command(
                request,
                account,
                confirm=confirm,
                preview_id=preview_id,
                on_progress=ctx.report_progress,
                approval=asker.outcome(approval, instance_id, ctx),
                delivered=delivery_check(ctx),
            ),
            named=named,
        )
