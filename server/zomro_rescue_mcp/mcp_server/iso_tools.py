"""list_iso_images and boot_from_iso (toolset `iso`), reset_root_password (toolset `password`).

The two changes are destructive and not idempotent, absent in read-only mode and outside their toolsets, previewed
(confirm=false reads only and returns a preview_id), asked for approval through elicitation as power_instance is,
and sent once. list_iso_images only reads.
"""

# No `from __future__ import annotations`: the approval parameters name resolvers that exist only at registration.

from typing import Annotated, Any

from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult
from pydantic import Field

from ..operations.approval import Approval
from ..operations.fleet import Fleet
from ..operations.iso import BootIsoRequest, BootIsoResult, IsoImageList, boot_from_iso, list_isos
from ..operations.models import ActionResult
from ..operations.rescue import RescueService
from ..operations.root_password import PasswordRequest, ResetPasswordResult, reset_root_password
from .annotations import change, read
from .arguments import AccountArg, Confirm, InstanceId, PreviewId, Wait, ZoneArg
from .elicitation import ApprovalForm, ElicitationAsker
from .results import answer, delivery_check, fleet_of, on_account

__all__ = ["register_iso_changes", "register_iso_reads"]

ISOS_DESCRIPTION = "The ISO images an instance can boot from (read-only)."
BOOT_DESCRIPTION = """\
Reboot an instance from an ISO (list_iso_images), its disk attached; used via the panel's console, left with \
exit_rescue. confirm=false previews."""
PASSWORD_DESCRIPTION = """\
Set a running Linux instance's root password (needs its guest agent); omit password to have one generated, \
shown once. confirm=false previews."""


def register_iso_reads(mcp: MCPServer[Fleet], *, named: bool) -> None:
    """list_iso_images; a read, offered in read-only mode too (when its toolset is)."""

    @mcp.tool(
        name="list_iso_images",
        description=ISOS_DESCRIPTION,
        annotations=read("List ISO images"),
    )
    async def list_iso_images(
        instance_id: InstanceId, ctx: Context[Fleet, Any], account: AccountArg = None
    ) -> Annotated[CallToolResult, IsoImageList]:
        return await answer(on_account(ctx, account, lambda service: list_isos(service, instance_id)), named=named)


def register_iso_changes(mcp: MCPServer[Fleet], asker: ElicitationAsker, *, named: bool) -> None:
    """boot_from_iso and reset_root_password; registered with the other changes (never in read-only mode)."""

    async def approve_boot(
        instance_id: int,
        image: str,
        zone: str | None,
        confirm: bool,
        preview_id: str | None,
        account: str | None,
        ctx: Context[Any, Any],
    ) -> Approval | Elicit[ApprovalForm]:
        request = BootIsoRequest(instance_id, image, zone)

        async def validate(fleet: Fleet, service: RescueService) -> tuple[ActionResult, str | None, str]:
            return await boot_from_iso(service, request, confirm=False, validating=True), None, ""

        return await asker.decide(confirm, ctx, request, account, preview_id, validate)

    async def approve_password(
        instance_id: int,
        password: str | None,
        confirm: bool,
        preview_id: str | None,
        account: str | None,
        ctx: Context[Any, Any],
    ) -> Approval | Elicit[ApprovalForm]:
        request = PasswordRequest(instance_id, password)

        async def validate(fleet: Fleet, service: RescueService) -> tuple[ActionResult, str | None, str]:
            return await reset_root_password(service, request, confirm=False, validating=True), password, ""

        return await asker.decide(confirm, ctx, request, account, preview_id, validate)

    @mcp.tool(name="boot_from_iso", description=BOOT_DESCRIPTION, annotations=change("Boot from an ISO"))
    async def boot_from_iso_tool(
        instance_id: InstanceId,
        image: Annotated[str, Field(min_length=1, max_length=200, description="ISO id or name.")],
        ctx: Context[Fleet, Any],
        approval: Annotated[ElicitationResult[Any], Resolve(approve_boot)],
        zone: ZoneArg = None,
        confirm: Confirm = False,
        preview_id: PreviewId = None,
        wait: Wait = True,
        account: AccountArg = None,
    ) -> Annotated[CallToolResult, BootIsoResult]:
        request = BootIsoRequest(instance_id, image, zone)

        async def work() -> BootIsoResult:
            fleet = fleet_of(ctx)
            service = fleet.choose(request, account, confirm=confirm, approval=approval_now)
            with fleet.on(service):
                return await boot_from_iso(
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

    @mcp.tool(name="reset_root_password", description=PASSWORD_DESCRIPTION, annotations=change("Set root password"))
    async def reset_root_password_tool(
        instance_id: InstanceId,
        ctx: Context[Fleet, Any],
        approval: Annotated[ElicitationResult[Any], Resolve(approve_password)],
        password: Annotated[str | None, Field(max_length=200)] = None,
        confirm: Confirm = False,
        preview_id: PreviewId = None,
        account: AccountArg = None,
    ) -> Annotated[CallToolResult, ResetPasswordResult]:
        request = PasswordRequest(instance_id, password)

        async def work() -> ResetPasswordResult:
            fleet = fleet_of(ctx)
            service = fleet.choose(request, account, confirm=confirm, approval=approval_now)
            with fleet.on(service):
                return await reset_root_password(
                    service,
                    request,
                    confirm=confirm,
                    preview_id=preview_id,
                    approval=approval_now,
                    delivered=delivery_check(ctx),
                )

        approval_now = asker.outcome(approval, instance_id, ctx)
        return await answer(work(), named=named)
