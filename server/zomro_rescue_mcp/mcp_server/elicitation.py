"""The MCP server's way of asking: form elicitation through the SDK's resolver pattern (`Resolve` + `Elicit`).

A resolver asks before the tool body runs, in both protocol eras, for a confirmed request that validates and
carries the preview_id that confirms it. With `auto` (the default) a client that declared form elicitation is
asked and one that did not is served on preview_id + confirm (`CANNOT_ASK`, said in the result); with `always` a
client that cannot ask is refused, never waved through; `never` never asks. In the modern era the answer returns
inside a sealed `request_state`; `ApprovalLedger` makes each count once, so a replay is refused. The tool body
reads the state again after the answer.
"""

# No `from __future__ import annotations`: the resolvers' annotations are evaluated where they are defined.

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.elicitation import (
    AcceptedElicitation,
    CancelledElicitation,
    DeclinedElicitation,
    ElicitationResult,
)
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit
from pydantic import BaseModel, Field

from ..core.errors import ZomroError
from ..core.printable import printable
from ..operations.approval import Answer, Approval, judge
from ..operations.fleet import Change, Fleet
from ..operations.models import ActionResult, Zone
from ..operations.pipeline import EnterRequest, ExitRequest, Request
from ..operations.repair_results import RepairResult
from ..operations.repairing import CommandRequest, RepairRequest
from ..operations.rescue import RescueService

__all__ = ["APPROVAL_TTL", "ApprovalForm", "ApprovalLedger", "ElicitationAsker"]

APPROVAL_TTL = 120.0  # seconds a sealed answer stays valid between the question and the confirmed call


class ApprovalForm(BaseModel):
    """What the person fills in to approve: the instance id, typed, so a reflexive click is not enough."""

    # Text, not a number: whatever the person types is an answer (a wrong one is a mismatch), never a schema error.
    instance_id: str = Field(default="", max_length=40, description="Type the instance id to approve this action.")


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


Resolver = Callable[..., Awaitable[Any]]
Validation = Callable[[Fleet, RescueService], Awaitable[tuple[ActionResult, str | None, str]]]


class ElicitationAsker:
    """The MCP server's asker: a resolver per tool poses the question through form elicitation.

    The resolver validates the request with a preview (neither audited nor issued an id) and asks only when the
    call carries the preview_id that confirms it. The tool body reads everything again after the answer, so what
    is sent rests on the state seen after the person answered, not before the question.
    """

    def __init__(self, *, ttl: float = APPROVAL_TTL) -> None:
        self.ledger = ApprovalLedger(ttl)

    def pose(self, instance_id: int, summary: str) -> Elicit[ApprovalForm]:
        question = f"Approve this action? {summary} Type the instance id {instance_id} to approve it."
        return Elicit(question, ApprovalForm)

    def read(self, reply: Any, instance_id: int) -> Answer:
        """What the elicitation's outcome (or the resolver's own answer, when it did not ask) means."""
        if isinstance(reply, DeclinedElicitation):
            return Answer(Approval.DECLINED)
        if isinstance(reply, AcceptedElicitation):
            data = reply.data
            if isinstance(data, ApprovalForm):
                return Answer(judge(data.instance_id, instance_id))
            if isinstance(data, Approval):
                return Answer(data)
        if not isinstance(reply, CancelledElicitation):
            raise TypeError(f"not an elicitation outcome: {type(reply).__name__}")
        return Answer(Approval.CANCELLED)

    def outcome(self, reply: ElicitationResult[Any], instance_id: int, ctx: Context[Any, Any]) -> Approval:
        """The answer for the tool body: an accepted answer presented twice (a replayed request state) counts once."""
        approval = self.read(reply, instance_id).approval
        if approval is Approval.ACCEPTED and not self.ledger.spend(ctx.request_state):
            return Approval.REPLAYED
        return approval

    async def decide(
        self,
        confirm: bool,
        ctx: Context[Any, Any],
        request: Change,
        account: str | None,
        preview_id: str | None,
        validate: Validation,
    ) -> Approval | Elicit[ApprovalForm]:
        """Ask only for a confirmed request whose account asks (always, or auto with a client that can), that
        validates and carries the preview_id that confirms it; else say why not.

        `validate(fleet, service)` is the tool's own validation preview (neither audited nor issued an id): what it
        would show, the secret its preview_id binds (a given password), and the detail the question adds (a diff).
        """
        if not confirm:
            return Approval.NOT_REQUIRED
        fleet: Fleet = ctx.request_context.lifespan_context
        try:
            service = fleet.for_change(request, account, confirm=True)
        except ZomroError:
            return Approval.NOT_ASKED  # the tool body meets the same refusal and records it in the audit trail
        if service.require_approval == "never":
            return Approval.NOT_REQUIRED
        if not _can_ask(ctx):
            return Approval.UNSUPPORTED if service.require_approval == "always" else Approval.CANNOT_ASK
        try:
            with fleet.on(service):
                shown, secret, detail = await validate(fleet, service)
        except ZomroError:
            return Approval.NOT_ASKED
        if service.preview_problem(shown, preview_id, secret) is not None:
            return Approval.PREVIEW_FIRST  # the tool body refuses it by the preview rule; nobody is asked
        summary = printable(shown.summary)  # it quotes the API's labels: data, never a forged line
        if detail:
            summary += "\n" + "\n".join(printable(line) for line in detail[:3000].splitlines())
        if service.named:  # the same id may be an instance of another account: say which one is meant
            summary = f"On account {service.account}: {summary}"
        return self.pose(request.instance_id, summary)

    async def _decide(
        self, confirm: bool, ctx: Context[Any, Any], request: Request, account: str | None, preview_id: str | None
    ) -> Approval | Elicit[ApprovalForm]:
        async def validate(fleet: Fleet, _: RescueService) -> tuple[ActionResult, str | None, str]:
            preview = await fleet.preview(request, account)
            return preview.result, getattr(request, "password", None), ""

        return await self.decide(confirm, ctx, request, account, preview_id, validate)

    async def _decide_in_rescue(
        self,
        confirm: bool,
        ctx: Context[Any, Any],
        request: RepairRequest | CommandRequest,
        account: str | None,
        preview_id: str | None,
    ) -> Approval | Elicit[ApprovalForm]:
        """A repair's or a command's: a fresh read-only plan, and the question shows its diff or its command."""

        async def validate(fleet: Fleet, _: RescueService) -> tuple[ActionResult, str | None, str]:
            shown = await fleet.preview_repair(request, account)
            if isinstance(shown, RepairResult):
                detail = shown.diff or "\n".join(f"$ {c}" for c in shown.commands)
                return shown, getattr(request, "password", None), detail
            return shown, None, f"$ {shown.command}"

        return await self.decide(confirm, ctx, request, account, preview_id, validate)

    def repair_resolver(self) -> Resolver:
        """The resolver of repair_instance's approval: a fresh read-only plan, then the question with its diff."""

        async def approve_repair(
            instance_id: int,
            fix: str,
            target: str | None,
            password: str | None,
            disk: str | None,
            confirm: bool,
            preview_id: str | None,
            account: str | None,
            ctx: Context[Any, Any],
        ) -> Approval | Elicit[ApprovalForm]:
            request = RepairRequest(instance_id, fix, target, password, None, disk)
            return await self._decide_in_rescue(confirm, ctx, request, account, preview_id)

        return approve_repair

    def command_resolver(self) -> Resolver:
        """The resolver of run_in_rescue's approval: where it would run (read-only), then the question."""

        async def approve_command(
            instance_id: int,
            command: str,
            chroot: bool,
            timeout_s: int,
            disk: str | None,
            confirm: bool,
            preview_id: str | None,
            account: str | None,
            ctx: Context[Any, Any],
        ) -> Approval | Elicit[ApprovalForm]:
            request = CommandRequest(instance_id, command, chroot, timeout_s, None, disk)
            return await self._decide_in_rescue(confirm, ctx, request, account, preview_id)

        return approve_command

    def enter_resolver(self) -> Resolver:
        """The resolver of enter_rescue's approval: validate (a preview), then ask."""

        async def approve_enter(
            instance_id: int,
            image: str,
            zone: Zone | None,
            password: str | None,
            confirm: bool,
            preview_id: str | None,
            account: str | None,
            ctx: Context[Any, Any],
        ) -> Approval | Elicit[ApprovalForm]:
            request = EnterRequest(instance_id, image, zone, password)
            return await self._decide(confirm, ctx, request, account, preview_id)

        return approve_enter

    def exit_resolver(self) -> Resolver:
        """The resolver of exit_rescue's approval."""

        async def approve_exit(
            instance_id: int, confirm: bool, preview_id: str | None, account: str | None, ctx: Context[Any, Any]
        ) -> Approval | Elicit[ApprovalForm]:
            return await self._decide(confirm, ctx, ExitRequest(instance_id), account, preview_id)

        return approve_exit


def _can_ask(ctx: Context[Any, Any]) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)
