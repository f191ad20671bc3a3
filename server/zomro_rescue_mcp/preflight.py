"""Pre-flight rules: what an instance's state, and the person's approval, allow before anything is sent."""

from __future__ import annotations

from .audit import Approval
from .errors import PolicyRefusedError, StateConflictError
from .instances import BUSY, IN_RESCUE

__all__ = ["check_approval", "is_busy", "refuse_enter", "refuse_exit"]


def is_busy(status: str | None) -> bool:
    """A transitional state: the known ones, and any other "-ing" state Zomro may report."""
    return status is not None and (status in BUSY or status.endswith("ing"))


def refuse_enter(instance_id: int, status: str | None) -> None:
    """Raise when the state forbids entering rescue mode; an unknown state lets the API decide."""
    if status in IN_RESCUE:
        how = "booted from an ISO" if status == "booted_from_iso" else "already in rescue mode"
        raise StateConflictError(
            f"Instance {instance_id} is {how} (state {status}): nothing was sent. Keep working in it, or call "
            "exit_rescue first and then enter_rescue again.",
            status=status or "",
        )
    if is_busy(status):
        raise StateConflictError(
            f"Instance {instance_id} is busy (state {status}): nothing was sent. Try again when it is active; "
            "list_instances shows its state.",
            status=status or "",
        )


def refuse_exit(instance_id: int, status: str | None) -> None:
    """Raise unless the instance is in rescue mode (or its state is unknown: then the API decides)."""
    if status is None or status in IN_RESCUE:
        return
    if is_busy(status):
        raise StateConflictError(
            f"Instance {instance_id} is busy (state {status}): nothing was sent. Try again when it is rescued; "
            "list_instances shows its state.",
            status=status,
        )
    raise StateConflictError(
        f"Instance {instance_id} is not in rescue mode (state {status}): there is nothing to do, and nothing was sent.",
        status=status,
    )


def check_approval(instance_id: int, approval: Approval) -> None:
    """A confirmed request goes ahead only without an approval requirement, or with the person's yes."""
    refusals = {
        "declined": "the person declined the approval",
        "cancelled": "the approval was cancelled",
        "mismatch": f"the id typed for approval was not {instance_id}",
        "unsupported": "this server requires a person's approval for every confirmed request "
        "(ZOMRO_REQUIRE_APPROVAL), but this client cannot ask for it (no form elicitation)",
        "not_asked": "the request could not be validated, so the person was not asked to approve it",
        "replayed": "this approval was already used for an earlier request; each approval counts once",
    }
    if approval in refusals:
        advice = (
            "Use a client that supports elicitation, or ask the operator."
            if approval == "unsupported"
            else "Ask the person again if they meant it."
        )
        raise PolicyRefusedError(f"Nothing was sent: {refusals[approval]}. {advice}")
