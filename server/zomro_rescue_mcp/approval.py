"""A person's approval of each confirmed request, asked through MCP form elicitation (ZOMRO_REQUIRE_APPROVAL).

The SDK's resolver pattern (`Resolve` + `Elicit`) asks before the tool body runs, in both protocol eras. The
question is only asked for a confirmed request that passes validation; the person approves by typing the
instance id. A client that cannot ask is refused, never waved through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, DeclinedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field

from .audit import Approval
from .models import Zone
from .rescue import RescueService

__all__ = ["ApprovalForm", "approval_outcome", "enter_approval", "exit_approval"]

Resolver = Callable[..., Awaitable[Any]]
Preview = Callable[[Awaitable[Any]], Awaitable[Any]]


class ApprovalForm(BaseModel):
    """What the person fills in to approve: the instance id, typed, so a reflexive click is not enough."""

    instance_id: int = Field(description="Type the instance id to approve this action.")


def _can_ask(ctx: Context[RescueService, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _question(instance_id: int, summary: str) -> str:
    return f"Approve this action? {summary} Type the instance id {instance_id} to approve it."


def enter_approval(required: bool, preview: Preview) -> Resolver:
    """The resolver of enter_rescue's approval; `preview` runs a validation and turns errors into tool errors."""

    async def approve_enter(
        instance_id: int,
        image: str,
        zone: Zone | None,
        password: str | None,
        confirm: bool,
        ctx: Context[RescueService, Any],
    ) -> Any:
        if not (required and confirm):
            return "not_required"
        if not _can_ask(ctx):
            return "unsupported"
        service: RescueService = ctx.request_context.lifespan_context
        result = await preview(
            service.enter(instance_id, image, zone=zone, password=password, confirm=False, audited=False)
        )
        return Elicit(_question(instance_id, result.summary), ApprovalForm)

    return approve_enter


def exit_approval(required: bool, preview: Preview) -> Resolver:
    """The resolver of exit_rescue's approval."""

    async def approve_exit(instance_id: int, confirm: bool, ctx: Context[RescueService, Any]) -> Any:
        if not (required and confirm):
            return "not_required"
        if not _can_ask(ctx):
            return "unsupported"
        service: RescueService = ctx.request_context.lifespan_context
        result = await preview(service.exit(instance_id, confirm=False, audited=False))
        return Elicit(_question(instance_id, result.summary), ApprovalForm)

    return approve_exit


def approval_outcome(answer: ElicitationResult[Any], instance_id: int) -> Approval:
    """What the person's answer means for the request."""
    if isinstance(answer, DeclinedElicitation):
        return "declined"
    if isinstance(answer, CancelledElicitation):
        return "cancelled"
    if isinstance(answer, AcceptedElicitation):
        data = answer.data
        if isinstance(data, ApprovalForm):
            return "accepted" if data.instance_id == instance_id else "mismatch"
        if data in ("not_required", "unsupported"):
            return "not_required" if data == "not_required" else "unsupported"
    return "cancelled"
