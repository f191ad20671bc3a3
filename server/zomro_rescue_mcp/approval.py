"""A person's approval of each confirmed request, asked through MCP form elicitation (ZOMRO_REQUIRE_APPROVAL).

The SDK's resolver pattern (`Resolve` + `Elicit`) asks before the tool body runs, in both protocol eras. The
question is only asked for a confirmed request that passes validation; the person approves by typing the
instance id. A client that cannot ask is refused, never waved through. In the modern era the answer returns
inside a sealed `request_state`; `ApprovalLedger` makes each one count once, so a replayed call is refused.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, DeclinedElicitation, ElicitationResult
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field

from .audit import Approval
from .errors import ZomroError
from .models import ActionResult, Zone
from .rescue import RescueService

__all__ = ["APPROVAL_TTL", "ApprovalForm", "ApprovalLedger", "approval_outcome", "enter_approval", "exit_approval"]

APPROVAL_TTL = 120.0  # seconds a sealed answer stays valid between the question and the confirmed call

Resolver = Callable[..., Awaitable[Any]]


class ApprovalForm(BaseModel):
    """What the person fills in to approve: the instance id, typed, so a reflexive click is not enough."""

    # Text, not a number: whatever the person types is an answer (a wrong one is a mismatch), never a schema error.
    instance_id: str = Field(default="", max_length=40, description="Type the instance id to approve this action.")


def _can_ask(ctx: Context[RescueService, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _question(instance_id: int, summary: str) -> str:
    return f"Approve this action? {summary} Type the instance id {instance_id} to approve it."


async def _ask(
    required: bool,
    confirm: bool,
    ctx: Context[RescueService, Any],
    instance_id: int,
    preview: Callable[[RescueService], Awaitable[ActionResult]],
) -> Any:
    """Ask only for a confirmed request that validates (a preview, not audited); else say why not."""
    if not (required and confirm):
        return "not_required"
    if not _can_ask(ctx):
        return "unsupported"
    service = ctx.request_context.lifespan_context
    try:
        result = await preview(service)
    except ZomroError:
        return "not_asked"  # the tool body meets the same refusal and records it in the audit trail
    if not service.previewed(result):
        return "preview_first"  # the tool body answers with the preview; nobody is asked to approve it yet
    return Elicit(_question(instance_id, result.summary), ApprovalForm)


def enter_approval(required: bool) -> Resolver:
    """The resolver of enter_rescue's approval: validate (a preview), then ask."""

    async def approve_enter(
        instance_id: int,
        image: str,
        zone: Zone | None,
        password: str | None,
        confirm: bool,
        ctx: Context[RescueService, Any],
    ) -> Any:
        return await _ask(
            required,
            confirm,
            ctx,
            instance_id,
            lambda service: service.enter(instance_id, image, zone=zone, password=password, audited=False),
        )

    return approve_enter


def exit_approval(required: bool) -> Resolver:
    """The resolver of exit_rescue's approval."""

    async def approve_exit(instance_id: int, confirm: bool, ctx: Context[RescueService, Any]) -> Any:
        return await _ask(required, confirm, ctx, instance_id, lambda service: service.exit(instance_id, audited=False))

    return approve_exit


class ApprovalLedger:
    """Remembers the sealed answers already used, for as long as they could be presented again."""

    def __init__(self, ttl: float = APPROVAL_TTL) -> None:
        self._ttl = ttl
        self._spent: dict[str, float] = {}
        self._lock = threading.Lock()

    def spend(self, request_state: str | None) -> bool:
        """True the first time a request's state is presented; False for a replay. No state: nothing to replay."""
        if request_state is None:
            return True
        digest = hashlib.sha256(request_state.encode("utf-8")).hexdigest()
        now = time.monotonic()
        with self._lock:
            self._spent = {d: t for d, t in self._spent.items() if now - t < 2 * self._ttl}
            if digest in self._spent:
                return False
            self._spent[digest] = now
            return True


def approval_outcome(
    answer: ElicitationResult[Any], instance_id: int, ctx: Context[RescueService, Any], ledger: ApprovalLedger
) -> Approval:
    """What the person's answer means for the request (an answer presented twice counts once)."""
    outcome = _answer_outcome(answer, instance_id)
    if outcome == "accepted" and not ledger.spend(ctx.request_state):
        return "replayed"
    return outcome


def _answer_outcome(answer: ElicitationResult[Any], instance_id: int) -> Approval:
    if isinstance(answer, DeclinedElicitation):
        return "declined"
    if isinstance(answer, CancelledElicitation):
        return "cancelled"
    if isinstance(answer, AcceptedElicitation):
        data = answer.data
        if isinstance(data, ApprovalForm):
            return "accepted" if data.instance_id.strip() == str(instance_id) else "mismatch"
        if data == "not_required":
            return "not_required"
        if data == "unsupported":
            return "unsupported"
        if data == "not_asked":
            return "not_asked"
        if data == "preview_first":
            return "preview_first"
    return "cancelled"
