"""power_instance: reboot, start or stop an instance, a change like entering rescue mode.

Destructive and not idempotent, absent in read-only mode and outside the `power` toolset, previewed (confirm=false
reads the state only and returns a preview_id), asked for approval through elicitation as exit_rescue is, sent once.
"""

# No `from __future__ import annotations`: the approval parameter names a resolver that exists only at registration.

from typing import Annotated, Any, Unpack

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult

from ..operations.approval import Approval
from ..operations.fleet import Fleet
from ..operations.models import ActionResult
from ..operations.power import PowerAction, PowerRequest, PowerResult, power_instance
from ..operations.rescue import RescueService, RunOptions
from .annotations import change
from .arguments import AccountArg, Confirm, InstanceId, PreviewId, Wait
from .elicitation import ApprovalForm, ElicitationAsker, Resolver
from .results import answer, delivery_check, fleet_of

__all__ = ["POWER_DESCRIPTION", "register_power"]

POWER_DESCRIPTION = """\
Reboot, start or stop an instance (not in rescue mode). confirm=false previews (reads its state only). A stopped \
instance is still billed."""


async def _run(fleet: Fleet, request: PowerRequest, account: str | None, **options: Unpack[RunOptions]) -> PowerResult:
    """The call on the account it names (a confirmed one must name it when several exist), as a change is."""
    confirm = options.get("confirm", False)
    approval = options.get("approval", Approval.NOT_REQUIRED)
    service = fleet.choose(request, account, confirm=confirm, approval=approval)
    with fleet.on(service):
        return await power_instance(service, request, **options)


def power_resolver(asker: ElicitationAsker) -> Resolver:
    """The resolver of power_instance's approval: validate with a read-only preview, then ask."""

    async def approve_power(
        instance_id: int,
        action: PowerAction,
        confirm: bool,
        preview_id: str | None,
        account: str | None,
        ctx: Context[Any, Any],
    ) -> Approval | Elicit[ApprovalForm]:
        request = PowerRequest(instance_id, action)

        async def validate(fleet: Fleet, service: RescueService) -> tuple[ActionResult, str | None, str]:
            return await power_instance(service, request, confirm=False, validating=True), None, ""

        return await asker.decide(confirm, ctx, request, account, preview_id, validate)

    return approve_power


def register_power(mcp: MCPServer[Fleet], asker: ElicitationAsker, *, named: bool) -> None:
    """power_instance; registered with the other changes (never in read-only mode)."""
    approve_power = power_resolver(asker)

    @mcp.tool(
        name="power_instance",
        description=POWER_DESCRIPTION,
        annotations=change("Reboot, start or stop"),
    )
    async def power_instance_tool(
        instance_id: InstanceId,
        action: PowerAction,
        ctx: Context[Fleet, Any],
        approval: Annotated[ElicitationResult[Any], Resolve(approve_power)],
        confirm: Confirm = False,
        preview_id: PreviewId = None,
        wait: Wait = True,
        account: AccountArg = None,
    ) -> Annotated[CallToolResult, PowerResult]:
        work = _run(
            fleet_of(ctx),
            PowerRequest(instance_id, action),
            account,
            confirm=confirm,
            preview_id=preview_id,
            wait=wait,
            on_progress=ctx.report_progress,
            approval=asker.outcome(approval, instance_id, ctx),
            delivered=delivery_check(ctx),
        )
        return await answer(work, named=named)
