"""A person's approval of each confirmed request: its typed answers, the one rule, and the two ways of asking.

`Approval` is what the person answered (or why they were not asked). `require` is the one rule: a confirmed
request goes ahead only when approval is not required or the person approved. Asking follows one small
protocol, `Asker` (pose the question, read the reply), with two implementations:
- `TerminalAsker`, the human CLI's: the person types the instance id at the terminal (or `--yes`).
- `ElicitationAsker`, the MCP server's (ZOMRO_REQUIRE_APPROVAL, or an account's require_approval): the SDK's
  resolver pattern (`Resolve` + `Elicit`) asks before the tool body runs, in both protocol eras, for a confirmed
  request that validates and carries the preview_id that confirms it. With `auto` (the default) a client that
  declared form elicitation is asked and one that did not is served on preview_id + confirm (`CANNOT_ASK`, said in
  the result); with `always` a client that cannot ask is refused, never waved through; `never` never asks. In the
  modern era the answer returns inside a sealed `request_state`; `ApprovalLedger` makes each count once, so a
  replay is refused. The tool body reads the state again after the answer.

The audit trail records `Approval.word` (its historical strings). MCP is imported only by the MCP asker.
"""

# No `from __future__ import annotations`: the resolvers' annotations are evaluated where they are defined,
# inside `ElicitationAsker`, which imports the SDK's `Context` only then (the CLI never loads MCP).

import enum
import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

from .audit import ApprovalWord
from .errors import PolicyRefusedError, ZomroError
from .models import ApprovedBy
from .pipeline import EnterRequest, ExitRequest, Request
from .printable import printable

if TYPE_CHECKING:
    from mcp.server.elicitation import ElicitationResult
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver.resolve import Elicit

    from .fleet import Fleet

__all__ = [
    "APPROVAL_TTL",
    "Answer",
    "Approval",
    "ApprovalForm",
    "ApprovalLedger",
    "AskedBy",
    "Asker",
    "ElicitationAsker",
    "TerminalAsker",
    "approved_by",
    "judge",
    "require",
]

APPROVAL_TTL = 120.0  # seconds a sealed answer stays valid between the question and the confirmed call


class Approval(enum.Enum):
    """What the person answered for a confirmed request, or why they were not asked."""

    NOT_REQUIRED = "not_required"  # the operator does not require approval (or it is a preview)
    ACCEPTED = "accepted"  # the person typed the instance id
    DECLINED = "declined"
    CANCELLED = "cancelled"
    MISMATCH = "mismatch"  # the person typed something other than the instance id
    UNSUPPORTED = "unsupported"  # required, but there is no way to ask (client without elicitation, no terminal)
    NOT_ASKED = "not_asked"  # the request did not validate, so nobody was asked
    REPLAYED = "replayed"  # an answer already used for an earlier request
    PREVIEW_FIRST = "preview_first"  # the call carries no preview_id that confirms it, so nobody was asked yet
    CANNOT_ASK = "cannot_ask"  # approval is "auto" and this client cannot ask: served on preview_id + confirm

    @property
    def word(self) -> ApprovalWord:
        """The string the audit trail records for this answer."""
        return _WORDS[self]

    @property
    def approves(self) -> bool:
        """Whether a confirmed request may go ahead on this answer."""
        return self in (Approval.NOT_REQUIRED, Approval.ACCEPTED, Approval.CANNOT_ASK)


_WORDS: dict[Approval, ApprovalWord] = {
    Approval.NOT_REQUIRED: "not_required",
    Approval.ACCEPTED: "accepted",
    Approval.DECLINED: "declined",
    Approval.CANCELLED: "cancelled",
    Approval.MISMATCH: "mismatch",
    Approval.UNSUPPORTED: "unsupported",
    Approval.NOT_ASKED: "not_asked",
    Approval.REPLAYED: "replayed",
    Approval.PREVIEW_FIRST: "preview_first",
    Approval.CANNOT_ASK: "cannot_ask",
}

AskedBy = Literal["elicitation", "terminal"]


def approved_by(approval: Approval, asked_by: AskedBy = "elicitation") -> ApprovedBy:
    """Who approved a change that goes ahead: the person (where they were asked), or the confirm flag alone."""
    if approval is Approval.ACCEPTED:
        return "person (terminal)" if asked_by == "terminal" else "person (elicitation)"
    return "assistant (confirm)"


@dataclass(frozen=True)
class Answer:
    """An approval answer, and the sentence to refuse with when an asker words its own (the terminal's)."""

    approval: Approval
    refusal: PolicyRefusedError | None = None


def judge(typed: str, instance_id: int) -> Approval:
    """Only the instance id, typed (spaces around it aside), approves; any other text is a mismatch."""
    return Approval.ACCEPTED if typed.strip() == str(instance_id) else Approval.MISMATCH


def require(instance_id: int, answer: Answer | Approval, *, where: str = "ZOMRO_REQUIRE_APPROVAL") -> None:
    """The one rule: raise PolicyRefusedError unless approval is not required or the person approved. `where`
    names the setting that requires approval, for the sentence."""
    answer = answer if isinstance(answer, Answer) else Answer(answer)
    if answer.approval.approves:
        return
    if answer.refusal is not None:
        raise answer.refusal
    refusals = {
        Approval.DECLINED: "the person declined the approval",
        Approval.CANCELLED: "the approval was cancelled",
        Approval.MISMATCH: f"the id typed for approval was not {instance_id}",
        Approval.UNSUPPORTED: "this server requires a person's approval for every confirmed request "
        f"({where}), but this client cannot ask for it (no form elicitation)",
        Approval.NOT_ASKED: "the request could not be validated, so the person was not asked to approve it",
        Approval.REPLAYED: "this approval was already used for an earlier request; each approval counts once",
        Approval.PREVIEW_FIRST: "the call carries no preview_id of the latest preview of this action, so the person "
        "was not asked to approve it",
    }
    advice = (
        "Use a client that supports elicitation, or ask the operator."
        if answer.approval is Approval.UNSUPPORTED
        else "Ask the person again if they meant it."
    )
    raise PolicyRefusedError(f"Nothing was sent: {refusals[answer.approval]}. {advice}")


class Asker(Protocol):
    """One way of asking the person: pose the question about a previewed action, then read their reply."""

    def pose(self, instance_id: int, summary: str) -> object:
        """Put the question (or return what carries it to the person)."""
        ...

    def read(self, reply: Any, instance_id: int) -> Answer:
        """What the reply means for the request."""
        ...


Ask = Callable[[str], "str | None"]


class TerminalAsker:
    """The CLI's asker: the person types the instance id at the terminal; `--yes` stands for a reviewed preview."""

    def __init__(self, ask: Ask, *, yes: bool, required: bool, where: str = "ZOMRO_REQUIRE_APPROVAL") -> None:
        self._ask, self._yes, self._required, self._where = ask, yes, required, where

    def pose(self, instance_id: int, summary: str) -> str | None:
        """The typed line (None when there is no terminal, or with --yes: nothing is asked)."""
        if self._yes:
            return None
        return self._ask(f"Type the instance id {instance_id} to go ahead (anything else cancels): ")

    def read(self, reply: Any, instance_id: int) -> Answer:
        if self._yes:
            if self._required:
                return Answer(
                    Approval.UNSUPPORTED,
                    PolicyRefusedError(
                        f"Nothing was sent: --yes cannot stand in for the approval {self._where} asks for. "
                        "Run the command at a terminal without --yes and type the instance id."
                    ),
                )
            return Answer(Approval.NOT_REQUIRED)
        if reply is None:
            return Answer(
                Approval.UNSUPPORTED,
                PolicyRefusedError(
                    "Nothing was sent: there is no terminal to ask on. Review the preview above, then run the "
                    "command again with --yes."
                ),
            )
        approval = judge(str(reply), instance_id)
        if approval is Approval.MISMATCH:
            return Answer(
                approval,
                PolicyRefusedError("Nothing was sent: the instance id was not typed, so the request was cancelled."),
            )
        return Answer(approval)

    def approve(self, instance_id: int, summary: str) -> Answer:
        """Pose and read in one go (the terminal answers at once)."""
        return self.read(self.pose(instance_id, summary), instance_id)


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


class ElicitationAsker:
    """The MCP server's asker: a resolver per tool poses the question through form elicitation.

    The resolver validates the request with a preview (neither audited nor issued an id) and asks only when the
    call carries the preview_id that confirms it. The tool body reads everything again after the answer, so what
    is sent rests on the state seen after the person answered, not before the question.
    """

    def __init__(self, *, ttl: float = APPROVAL_TTL) -> None:
        self.ledger = ApprovalLedger(ttl)

    def pose(self, instance_id: int, summary: str) -> "Elicit[ApprovalForm]":
        from mcp.server.mcpserver.resolve import Elicit

        question = f"Approve this action? {summary} Type the instance id {instance_id} to approve it."
        return Elicit(question, ApprovalForm)

    def read(self, reply: Any, instance_id: int) -> Answer:
        """What the elicitation's outcome (or the resolver's own answer, when it did not ask) means."""
        from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, DeclinedElicitation

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

    def outcome(self, reply: "ElicitationResult[Any]", instance_id: int, ctx: "Context[Any, Any]") -> Approval:
        """The answer for the tool body: an accepted answer presented twice (a replayed request state) counts once."""
        approval = self.read(reply, instance_id).approval
        if approval is Approval.ACCEPTED and not self.ledger.spend(ctx.request_state):
            return Approval.REPLAYED
        return approval

    async def _decide(
        self, confirm: bool, ctx: "Context[Any, Any]", request: Request, account: str | None, preview_id: str | None
    ) -> "Approval | Elicit[ApprovalForm]":
        """Ask only for a confirmed request whose account asks (always, or auto with a client that can), that
        validates and carries the preview_id that confirms it; else say why not."""
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
            preview = await fleet.preview(request, account)
        except ZomroError:
            return Approval.NOT_ASKED
        if service.preview_problem(preview.result, preview_id, getattr(request, "password", None)) is not None:
            return Approval.PREVIEW_FIRST  # the tool body refuses it by the preview rule; nobody is asked
        summary = printable(preview.result.summary)  # it quotes the API's labels: data, never a forged line
        if service.named:  # the same id may be an instance of another account: say which one is meant
            summary = f"On account {service.account}: {summary}"
        return self.pose(request.instance_id, summary)

    def enter_resolver(self) -> Resolver:
        """The resolver of enter_rescue's approval: validate (a preview), then ask."""
        from mcp.server.mcpserver import Context
        from mcp.server.mcpserver.resolve import Elicit

        from .models import Zone

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
        from mcp.server.mcpserver import Context
        from mcp.server.mcpserver.resolve import Elicit

        async def approve_exit(
            instance_id: int, confirm: bool, preview_id: str | None, account: str | None, ctx: Context[Any, Any]
        ) -> Approval | Elicit[ApprovalForm]:
            return await self._decide(confirm, ctx, ExitRequest(instance_id), account, preview_id)

        return approve_exit


def _can_ask(ctx: "Context[Any, Any]") -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)
