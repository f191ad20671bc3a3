"""A person's approval of each confirmed request: its typed answers, the one rule, and who approved.

`Approval` is what the person answered (or why they were not asked). `require` is the one rule: a confirmed
request goes ahead only when approval is not required or the person approved. Asking follows one small
protocol, `Asker` (pose the question, read the reply); each adapter has its own: the CLI's `TerminalAsker` (the
person types the instance id at the terminal, or `--yes`), and the MCP server's `ElicitationAsker` (form
elicitation, in both protocol eras). `approved_by` says who approved a change that goes ahead.

The audit trail records `Approval.word` (its historical strings).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..core.errors import PolicyRefusedError
from .audit import ApprovalWord
from .models import ApprovedBy

__all__ = ["Answer", "Approval", "AskedBy", "Asker", "approved_by", "judge", "notes_on", "require"]


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


def require(
    instance_id: int, answer: Answer | Approval, *, where: str = "ZOMRO_REQUIRE_APPROVAL", used_up: bool = False
) -> None:
    """The one rule: raise PolicyRefusedError unless approval is not required or the person approved. `where`
    names the setting that requires approval, for the sentence; `used_up`: the call's preview_id was taken, so the
    sentence says that only a new preview leads on."""
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
        else "Preview again (its preview_id is used up), show it to the person, and ask them again if they meant it."
        if used_up
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


def notes_on(approval: Approval, mode: str, where: Mapping[str, str], asked_by: AskedBy = "elicitation") -> list[str]:
    """What an approval that was not a person's means, for the person reading the result."""
    if asked_by == "terminal":
        if approval is Approval.ACCEPTED:
            return []
        return ["Nobody typed the instance id: --yes on the command line stood for the approval."]
    if approval is Approval.CANNOT_ASK:
        return [
            "Nobody was asked through the client: this client cannot ask the person (it declared no form "
            "elicitation), so this change rests on the assistant having shown the preview and had the person's yes."
        ]
    if approval is Approval.NOT_REQUIRED and mode == "never":
        return [f"The person was not asked through the client: approval is off ({where['require_approval']})."]
    return []
