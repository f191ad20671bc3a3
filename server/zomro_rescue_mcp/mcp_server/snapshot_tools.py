"""list_snapshots and create_snapshot (toolset `snapshots`): an instance's snapshots and backups, and a new one made
before a repair changes its disk.

create_snapshot is a change like power_instance: absent in read-only mode and outside its toolset, previewed
(confirm=false reads only and returns a preview_id bound to the kind and the name), asked for approval through
elicitation, and sent once. list_snapshots only reads.
"""

# No `from __future__ import annotations`: the approval parameter names a resolver that exists only at registration.

from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult
from pydantic import Field

from ..operations.approval import Approval
from ..operations.fleet import Fleet
from ..operations.models import ActionResult
from ..operations.rescue import RescueService
from ..operations.snapshots import (
    SnapshotKind,
    SnapshotList,
    SnapshotRequest,
    SnapshotResult,
    create_snapshot,
    list_snapshots,
)
from .annotations import change, read
from .arguments import AccountArg, Confirm, InstanceId, PreviewId, Wait
from .elicitation import ApprovalForm, ElicitationAsker
from .results import answer, delivery_check, fleet_of, on_account

__all__ = ["register_snapshot_change", "register_snapshot_read"]

LIST_DESCRIPTION = (
    "An instance's snapshots and backups: name, day, status (Saving/Active), made today of 5 (read-only)."
)
CREATE_DESCRIPTION = """\
Make a snapshot (or kind=backup) of an instance's disk, before a repair; not in rescue mode; 5 a day. \
confirm=false previews."""


def register_snapshot_read(mcp: MCPServer[Fleet], *, named: bool) -> None:
    """list_snapshots; a read, offered in read-only mode too (when its toolset is)."""

    @mcp.tool(
        name="list_snapshots",
        description=LIST_DESCRIPTION,
        annotations=read("List snapshots"),
    )
    async def list_snapshots_tool(
        instance_id: InstanceId, ctx: Context[Fleet, Any], account: AccountArg = None
    ) -> Annotated[CallToolResult, SnapshotList]:
        return await answer(on_account(ctx, account, lambda service: list_snapshots(service, instance_id)), named=named)


def register_snapshot_change(mcp: MCPServer[Fleet], asker: ElicitationAsker, *, named: bool) -> None:
    """create_snapshot; registered with the other changes (never in read-only mode)."""

    async def approve_snapshot(
        instance_id: int,
        name: str,
        kind: SnapshotKind,
        confirm: bool,
        preview_id: str | None,
        account: str | None,
        ctx: Context[Any, Any],
    ) -> Approval | Elicit[ApprovalForm]:
        request = SnapshotRequest(instance_id, name, kind)

        async def validate(fleet: Fleet, service: RescueService) -> tuple[ActionResult, str | None, str]:
            return await create_snapshot(service, request, confirm=False, validating=True), None, ""

        return await asker.decide(confirm, ctx, request, account, preview_id, validate)

    @mcp.tool(
        name="create_snapshot",
        description=CREATE_DESCRIPTION,
        annotations=change("Make a snapshot", destructive=False),  # it adds an image: nothing is changed or removed
    )
    async def create_snapshot_tool(
        instance_id: InstanceId,
        name: Annotated[str, Field(min_length=1, max_length=100)],
        ctx: Context[Fleet, Any],
        approval: Annotated[ElicitationResult[Any], Resolve(approve_snapshot)],
        kind: SnapshotKind = "snapshot",
        confirm: Confirm = False,
        preview_id: PreviewId = None,
        wait: Wait = True,
        account: AccountArg = None,
    ) -> Annotated[CallToolResult, SnapshotResult]:
        request = SnapshotRequest(instance_id, name, kind)

        async def work() -> SnapshotResult:
            fleet = fleet_of(ctx)
            service = fleet.choose(request, account, confirm=confirm, approval=approval_now)
            with fleet.on(service):
                return await create_snapshot(
                    service,
                    request,
                    confirm=confirm,
                    preview_id=preview_id,
                    wait=wait,
                    on_progress=ctx.report_progress,
                    approval=approval_now,
                    delivered=delivery_check(ctx),
                )

        approval_now = asker.outcome(approval, instance_id, ctx)
        return await answer(work(), named=named)
